// The generation loop in Chromium (when /usr/bin/chromium or CHROMIUM_PATH exists): a page has no
// setImmediate, so the loop yields through a MessageChannel, and a timer set before generation fires
// while it runs. dist/models/generation/generate.js imports only relative modules, so the page loads
// it without an import map; the model is a fake written in the page (ids only, no tokenizer).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);

describe.skipIf(!HAVE_CHROMIUM)('generation in Chromium', () => {
  let browser: Browser;
  let server: { origin: string; close(): Promise<void> };

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const { startDemoServer } = await import('../demo/server.mjs');
    server = await startDemoServer({ port: 0 });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lets a timer fire between tokens', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    const out = await page.evaluate<{ firedAt: number; tokens: number; hasSetImmediate: boolean }>(`(async () => {
      const { generate } = await import('/dist/models/generation/generate.js');
      const V = 8;
      const model = {
        vocabSize: V, maxLength: 1000, tokenizer: undefined, eosTokenIds: [], bosTokenId: undefined, chatTemplate: undefined, specialTokens: {},
        createCache: () => ({ length: 0, maxLength: 1000, bytes: 0, reset() { this.length = 0; }, truncate(n) { this.length = n; }, dispose() {} }),
        forward(ids, { cache }) {
          cache.length += ids.length;
          for (const until = performance.now() + 1; performance.now() < until; );
          const data = new Float32Array(V);
          data[cache.length % V] = 1;
          return { logits: { data, shape: [V] } };
        },
      };
      let count = 0;
      let firedAt = -1;
      setTimeout(() => (firedAt = count), 0);
      const r = await generate(model, [0], { maxNewTokens: 40, onToken: () => count++ });
      return { firedAt, tokens: r.tokens.length, hasSetImmediate: typeof setImmediate === 'function' };
    })()`);
    expect(out.hasSetImmediate).toBe(false);
    expect(out.tokens).toBe(40);
    expect(out.firedAt).toBeGreaterThanOrEqual(1);
    expect(out.firedAt).toBeLessThan(40);
    await page.close();
  });
});
