// Types of demo/server.mjs, for the TypeScript that imports it (test/browser.test.ts).

export interface DemoServerOptions {
  /** Port to listen on; 0 picks a free one. Default 5173. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Folder served; default the package root. */
  root?: string;
  /** Top-level folders of `root` that are served, or null for all of it; default demo/, dist/, build/ and models/. */
  dirs?: readonly string[] | null;
  /**
   * Send Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp and
   * Cross-Origin-Resource-Policy: same-origin on every response (the page is cross-origin isolated,
   * so threads can start). Default true.
   */
  isolated?: boolean;
  /** A Content-Security-Policy header sent on every response; none by default. */
  contentSecurityPolicy?: string;
}

/** Where the server sends @huggingface/tokenizers' ES module (the path the demo page's import map names), whatever `root` and `dirs` are. */
export const TOKENIZERS_URL_PATH: string;

/** Where the server sends @huggingface/jinja's ES module (the chat templates; the path the demo page's import map names). */
export const JINJA_URL_PATH: string;

/** The headers `isolated: true` sends. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>>;

export interface DemoServer {
  /** `http://host:port` */
  origin: string;
  /** The demo page: `http://host:port/demo/` */
  url: string;
  /** Stops the server, closing open connections. */
  close(): Promise<void>;
}

/** Starts the demo's static server; resolves once it listens. */
export function startDemoServer(options?: DemoServerOptions): Promise<DemoServer>;
