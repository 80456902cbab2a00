/**
 * Chat: a conversation rendered by the model's own chat template (Jinja, run by
 * `@huggingface/jinja`), tokenized as it stands (the template writes the special tokens), and
 * generated from. A chat session keeps the model's cache between turns and prefills only the tokens
 * a turn adds.
 */
import type { Template } from '@huggingface/jinja';
import { describe } from '../../engine/validate.js';
import { cacheOptions, checkModel, run, streamOf } from './generate.js';
import { GENERATE_OPTIONS, checkKVDtype, checkOptionNames, resolveOptions } from './options.js';
import type { CausalLM, CausalLMCache, ChatMessage, ChatOptions, ChatResult, ChatSessionOptions, GenerateResult, GenerationEvent, SendOptions, StreamResult, TemplateVariables } from './types.js';

type TemplateClass = typeof Template;
let library: Promise<TemplateClass> | undefined;

/**
 * `@huggingface/jinja`, imported the first time a template is rendered (so that a page that never
 * chats needs no import map entry for it), with what to do when it cannot be imported.
 */
function templateLibrary(fn: string): Promise<TemplateClass> {
  library ??= import('@huggingface/jinja').then(
    (m) => m.Template,
    (error: unknown) => {
      library = undefined;
      const inBrowser = typeof document !== 'undefined' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
      const hint = inBrowser
        ? 'in a page without a bundler, map it with an import map: <script type="importmap">{ "imports": { "@huggingface/jinja": "/node_modules/@huggingface/jinja/dist/index.js" } }</script>'
        : 'install it: npm install @huggingface/jinja';
      throw new Error(`${fn}: cannot import @huggingface/jinja, which renders chat templates (${(error as Error)?.message ?? String(error)}); ${hint}`);
    },
  );
  return library;
}

const templates = new Map<string, Template>();

async function compiled(fn: string, source: string): Promise<Template> {
  let template = templates.get(source);
  if (template === undefined) {
    const TemplateClass = await templateLibrary(fn);
    try {
      template = new TemplateClass(source);
    } catch (e) {
      throw new Error(`${fn}: the model's chat template does not parse: ${(e as Error).message}`, { cause: e });
    }
    if (templates.size >= 16) templates.delete(templates.keys().next().value!);
    templates.set(source, template);
  }
  return template;
}

export function checkMessages(fn: string, messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages)) throw new TypeError(`${fn}: messages must be an array of { role, content }, received ${describe(messages)}`);
  if (messages.length === 0) throw new RangeError(`${fn}: messages must hold at least one message`);
  messages.forEach((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new TypeError(`${fn}: messages[${i}] must be an object { role, content }, received ${describe(m)}`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || role === '') throw new TypeError(`${fn}: messages[${i}].role must be a string ('system', 'user', 'assistant', …), received ${describe(role)}`);
    if (typeof content !== 'string') throw new TypeError(`${fn}: messages[${i}].content must be a string, received ${describe(content)}`);
  });
  return messages as ChatMessage[];
}

/**
 * The conversation as the model's chat template writes it, with the prompt that opens the
 * assistant's reply (`add_generation_prompt: true`) and the model's special tokens (bos_token,
 * eos_token, …) as template variables.
 */
export async function renderChat(model: CausalLM, messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean; templateVariables?: TemplateVariables } = {}, fn = 'renderChat'): Promise<string> {
  const variables = options.templateVariables ?? {};
  if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) throw new TypeError(`${fn}: templateVariables must be an object of template variables, received ${describe(variables)}`);
  checkModel(fn, model);
  checkMessages(fn, messages);
  if (typeof model.chatTemplate !== 'string') {
    throw new TypeError(`${fn}: the model has no chat template (tokenizer_config.json's chat_template or chat_template.jinja): build the prompt text yourself and call generate`);
  }
  const template = await compiled(fn, model.chatTemplate);
  try {
    return template.render({ ...model.specialTokens, ...variables, messages: messages.map((m) => ({ ...m })), add_generation_prompt: options.addGenerationPrompt ?? true });
  } catch (e) {
    throw new Error(`${fn}: the model's chat template failed on these messages: ${(e as Error).message}`, { cause: e });
  }
}

/** The rendered conversation's ids: tokenized without adding special tokens again (the template wrote them). */
async function chatIds(fn: string, model: CausalLM, messages: readonly ChatMessage[], templateVariables?: TemplateVariables): Promise<number[]> {
  if (model.tokenizer === undefined) throw new TypeError(`${fn}: chat needs the model's tokenizer (tokenizer.json), which this model does not have`);
  const ids = model.tokenizer.encode(await renderChat(model, messages, { addGenerationPrompt: true, templateVariables }, fn), { addSpecialTokens: false });
  if (ids.length === 0) throw new RangeError(`${fn}: the chat template rendered these messages as no tokens`);
  return ids;
}

const withMessage = (result: GenerateResult): ChatResult => ({ ...result, message: { role: 'assistant', content: result.text } });

/**
 * Generates the assistant's reply to `messages` (`[{ role, content }, …]`): the result of
 * `generate` plus `message: { role: 'assistant', content }`.
 */
export async function chat(model: CausalLM, messages: readonly ChatMessage[], options?: ChatOptions): Promise<ChatResult> {
  checkModel('chat', model);
  const { templateVariables, ...rest } = (options ?? {}) as ChatOptions;
  const o = resolveOptions('chat', model, rest);
  const ids = await chatIds('chat', model, messages, templateVariables);
  const { result } = await run({ fn: 'chat', model, ids, options: o, emit: (e) => o.onToken?.(e) });
  return withMessage(result);
}

const SEND_OPTIONS = GENERATE_OPTIONS.filter((name) => name !== 'cache' && name !== 'maxLength' && name !== 'kvDtype');

/** A conversation with a model that keeps the model's cache between turns. */
export interface ChatSession {
  readonly model: CausalLM;
  /** The conversation so far (the system message, then user and assistant turns). */
  readonly messages: readonly ChatMessage[];
  /** Positions the cache holds now. */
  readonly cachedTokens: number;
  /**
   * Adds a user message and generates the reply. The whole conversation is rendered again; the
   * tokens the cache already holds (the longest common prefix with the new rendering) are not run
   * again. An aborted reply is kept as far as it went.
   */
  send(text: string, options?: SendOptions): Promise<ChatResult>;
  /** `send` as a stream of `{ token, text }` events with the reply in `result`. */
  stream(text: string, options?: SendOptions): StreamResult & { readonly result: Promise<ChatResult> };
  /** Forget the conversation (the system message stays) and empty the cache. */
  reset(): void;
  /** Free the cache; the session is unusable afterwards. */
  dispose(): void;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** A chat session over `model`, with an optional system message and cache size. */
export function createChatSession(model: CausalLM, options?: ChatSessionOptions): ChatSession {
  const fn = 'createChatSession';
  checkModel(fn, model);
  const o = checkOptionNames(fn, options, ['system', 'maxLength', 'kvDtype', 'templateVariables']) as ChatSessionOptions;
  const kvDtype = checkKVDtype(fn, 'kvDtype', o.kvDtype);
  if (o.system !== undefined && typeof o.system !== 'string') throw new TypeError(`${fn}: system must be a string, received ${describe(o.system)}`);
  if (o.maxLength !== undefined && (typeof o.maxLength !== 'number' || !Number.isInteger(o.maxLength) || o.maxLength < 1 || o.maxLength > model.maxLength)) {
    throw new RangeError(`${fn}: maxLength must be an integer in [1, ${model.maxLength}] (the model's position limit), received ${describe(o.maxLength)}`);
  }
  if (typeof model.chatTemplate !== 'string') throw new TypeError(`${fn}: the model has no chat template (tokenizer_config.json's chat_template or chat_template.jinja)`);
  if (model.tokenizer === undefined) throw new TypeError(`${fn}: chat needs the model's tokenizer (tokenizer.json), which this model does not have`);

  const opening: ChatMessage[] = o.system === undefined ? [] : [{ role: 'system', content: o.system }];
  let messages: ChatMessage[] = [...opening];
  let cache: CausalLMCache | undefined = model.createCache(cacheOptions(o.maxLength, kvDtype));
  let cached: number[] = []; // the ids the cache holds, in order
  let busy = false;

  const live = (where: string): CausalLMCache => {
    if (cache === undefined) throw new Error(`${where}: the session was disposed`);
    return cache;
  };

  const turn = (where: string, text: unknown, options: unknown, emit: (e: GenerationEvent) => void, stopRequested?: () => boolean): Promise<ChatResult> => {
    const c = live(where);
    if (busy) throw new Error(`${where}: the previous turn has not finished (await it, or abort it with its signal)`);
    if (typeof text !== 'string') throw new TypeError(`${where}: the message must be a string, received ${describe(text)}`);
    for (const own of ['cache', 'maxLength', 'kvDtype']) {
      if (typeof options === 'object' && options !== null && (options as Record<string, unknown>)[own] !== undefined) {
        throw new TypeError(`${where}: ${own} is not an option of a turn: the session owns its cache (createChatSession(model, { maxLength, kvDtype }) makes it)`);
      }
    }
    const resolved = resolveOptions(where, model, options, SEND_OPTIONS);
    const next: ChatMessage[] = [...messages, { role: 'user', content: text }];
    busy = true; // from here: a second send waits for this one's end
    let started = false;
    return chatIds(where, model, next, o.templateVariables)
      .then((ids) => {
        // Reuse the cached prefix; at least one id is fed, for the logits of the reply's first token.
        // A cache that no longer holds what the prefix's end attends to (sliding-window layers) starts over.
        const shared = Math.min(commonPrefix(cached, ids), ids.length - 1);
        const keep = c.canTruncate?.(shared) === false ? 0 : shared;
        c.truncate(keep);
        cached = cached.slice(0, keep);
        started = true;
        return run({ fn: where, model, ids: ids.slice(keep), options: { ...resolved, cache: c }, history: cached, emit, stopRequested });
      })
      .then(
        ({ result, fed }) => {
          busy = false;
          cached = cached.concat(fed);
          const reply = withMessage(result);
          messages = [...next, reply.message];
          return reply;
        },
        (e: unknown) => {
          busy = false;
          if (started) {
            c.reset(); // its contents are unknown after a failed forward pass
            cached = [];
          }
          throw e;
        },
      );
  };

  return {
    model,
    get messages() {
      return messages;
    },
    get cachedTokens() {
      return cache?.length ?? 0;
    },
    async send(text, options) {
      return turn('session.send', text, options, (e) => (options as SendOptions | undefined)?.onToken?.(e));
    },
    stream(text, options) {
      const s = streamOf((emit, stopRequested) =>
        turn(
          'session.stream',
          text,
          options,
          (e) => {
            (options as SendOptions | undefined)?.onToken?.(e);
            emit(e);
          },
          stopRequested,
        ),
      );
      return s as StreamResult & { readonly result: Promise<ChatResult> };
    },
    reset() {
      live('session.reset');
      if (busy) throw new Error('session.reset: a turn is in progress (abort it with its signal and await it first)');
      messages = [...opening];
      cache!.reset();
      cached = [];
    },
    dispose() {
      cache?.dispose();
      cache = undefined;
    },
  };
}
