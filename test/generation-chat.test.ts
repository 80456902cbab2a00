// Chat over the fake causal LM (test/helpers/fake-lm.ts): real chat templates rendered by
// @huggingface/jinja (Qwen2's ChatML, Mistral's [INST] with bos/eos and raise_exception), the
// rendering tokenized without adding special tokens, and chat sessions that keep the cache between
// turns: a later turn gives exactly the tokens of a fresh run over the whole conversation, and only
// the tokens the cache did not hold are prefilled.
import { describe, expect, it } from 'vitest';
import { chat, createChatSession, renderChat } from '../src/models/generation/index.js';
import type { ChatMessage, GenerationEvent } from '../src/models/generation/types.js';
import { FakeLM, IM_END, IM_START, QWEN2_TEMPLATE, bytesOf, type FakeOptions } from './helpers/fake-lm.js';

const QWEN2 = QWEN2_TEMPLATE;

// Mistral-7B-Instruct-v0.1's.
const MISTRAL =
  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

const tokenizer = new FakeLM().tokenizer;
const HEADER = tokenizer.encode('<|im_start|>assistant\n', { addSpecialTokens: false });

/** A script for ChatML conversations: the n-th assistant turn spells replies[n], then <|im_end|>. */
function replies(...turns: number[][]): FakeOptions['script'] {
  return (sequence) => {
    let turn = -1;
    let start = -1;
    for (let i = 0; i + HEADER.length <= sequence.length; i++) {
      if (HEADER.every((id, j) => sequence[i + j] === id)) {
        turn++;
        start = i + HEADER.length;
      }
    }
    if (turn < 0 || turn >= turns.length) return undefined;
    const k = sequence.length - start;
    return k < turns[turn]!.length ? turns[turn]![k] : IM_END;
  };
}

const chatModel = (options: FakeOptions = {}) => new FakeLM({ chatTemplate: QWEN2, eosTokenIds: [IM_END], ...options });
const encode = (text: string) => tokenizer.encode(text, { addSpecialTokens: false });

describe('chat templates', () => {
  it("render Qwen2's ChatML with the default system message and the generation prompt", async () => {
    const text = await renderChat(chatModel(), [{ role: 'user', content: 'Hi!' }]);
    expect(text).toBe('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n');
    expect(await renderChat(chatModel(), [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi!' }], { addGenerationPrompt: false })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n',
    );
  });

  it("render Mistral's template with the model's bos and eos tokens, and report its raise_exception", async () => {
    const model = Object.assign(new FakeLM({ chatTemplate: MISTRAL }), { specialTokens: { bos_token: '<s>', eos_token: '</s>' } });
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Bye' },
    ];
    expect(await renderChat(model, messages)).toBe('<s>[INST] Hi [/INST]Hello</s> [INST] Bye [/INST]');
    await expect(renderChat(model, [{ role: 'assistant', content: 'x' }])).rejects.toThrow(/chat template failed on these messages: Conversation roles must alternate/);
  });

  it('chat prefills the rendering tokenized without adding special tokens, and returns the message', async () => {
    const model = chatModel({ script: replies(encode('Hello world')) });
    const messages = [{ role: 'user', content: 'Hi!' }];
    const r = await chat(model, messages);
    expect(model.calls[0]).toEqual(encode(await renderChat(model, messages)));
    expect(model.calls[0]!.filter((id) => id === IM_START)).toHaveLength(3); // the special tokens are single ids
    expect(r).toMatchObject({ finishReason: 'eos', text: 'Hello world', message: { role: 'assistant', content: 'Hello world' } });
  });

  it('checks its arguments', async () => {
    await expect(chat(new FakeLM(), [{ role: 'user', content: 'x' }])).rejects.toThrow(/the model has no chat template/);
    await expect(chat(chatModel(), [])).rejects.toThrow(/messages must hold at least one message/);
    await expect(chat(chatModel(), [{ role: 'user', content: 3 }] as never)).rejects.toThrow(/messages\[0\].content must be a string, received 3/);
    await expect(chat(chatModel(), [{ role: 'user', content: 'x' }], { topk: 3 } as never)).rejects.toThrow(/did you mean topK\?/);
  });
});

describe('chat sessions', () => {
  it('a second turn equals a fresh run over the whole conversation, prefilling only the new tokens', async () => {
    const script = replies(encode('Hello world'), encode('Sure, here it is.'));
    const model = chatModel({ script });
    const session = createChatSession(model, { system: 'Be kind.' });
    const first = await session.send('Hi!');
    expect(first.message.content).toBe('Hello world');
    const rendered1 = encode(await renderChat(model, [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi!' }]));
    expect(session.cachedTokens).toBe(rendered1.length + encode('Hello world').length); // the eos id is never fed

    const callsBefore = model.calls.length;
    const second = await session.send('Another?');
    const conversation = session.messages.slice(0, -1);
    const rendered2 = encode(await renderChat(model, conversation));
    const held = rendered1.length + encode('Hello world').length;
    expect(rendered2.slice(0, held)).toEqual([...rendered1, ...encode('Hello world')]); // the cache was a prefix
    expect(model.calls[callsBefore]).toEqual(rendered2.slice(held)); // only the new tokens: <|im_end|>\n<|im_start|>user …
    expect(model.calls[callsBefore]![0]).toBe(IM_END);
    expect(model.caches[0]!.ids).toEqual([...rendered2, ...second.tokens]);

    const fresh = await chat(chatModel({ script }), conversation);
    expect(second.tokens).toEqual(fresh.tokens);
    expect(second.text).toBe('Sure, here it is.');
    expect(session.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
  });

  it('truncates the cache to the common prefix when the reply tokenizes differently', async () => {
    // the model spells "he" as two byte tokens; rendered again it is one merged token
    const script = replies(bytesOf('he'), encode('ok'));
    const model = chatModel({ script });
    const session = createChatSession(model);
    await session.send('a');
    const rendered1 = encode(await renderChat(model, [{ role: 'user', content: 'a' }]));
    const callsBefore = model.calls.length;
    const second = await session.send('b');
    const rendered2 = encode(await renderChat(model, session.messages.slice(0, -1)));
    expect(model.calls[callsBefore]).toEqual(rendered2.slice(rendered1.length));
    expect(model.caches[0]!.ids).toEqual([...rendered2, ...second.tokens]); // truncated, then extended
    const fresh = await chat(chatModel({ script }), session.messages.slice(0, -1));
    expect(second.tokens).toEqual(fresh.tokens);
  });

  it('matches fresh runs turn after turn on an unscripted model', async () => {
    const model = chatModel();
    const session = createChatSession(model, { maxLength: 256 });
    for (const text of ['one', 'two', 'three']) {
      const turn = await session.send(text, { maxNewTokens: 8 });
      const fresh = await chat(chatModel(), session.messages.slice(0, -1), { maxNewTokens: 8 });
      expect(turn.tokens).toEqual(fresh.tokens);
      expect(turn.text).toBe(fresh.text);
    }
  });

  it('streams a turn as send gives it', async () => {
    const script = replies(encode('Hello world'));
    const events: GenerationEvent[] = [];
    const s = createChatSession(chatModel({ script })).stream('Hi');
    for await (const e of s) events.push(e);
    const r = await s.result;
    expect(events.map((e) => e.text).join('')).toBe('Hello world');
    expect(r.message.content).toBe('Hello world');
  });

  it('keeps an aborted reply, refuses overlapping turns, owns its cache, and reports a full cache', async () => {
    const model = chatModel({ script: replies(encode('Hello world')) });
    const session = createChatSession(model);
    const controller = new AbortController();
    const pending = session.send('Hi', { signal: controller.signal, onToken: () => controller.abort() });
    await expect(session.send('again')).rejects.toThrow(/the previous turn has not finished/);
    const r = await pending;
    expect(r.finishReason).toBe('abort');
    expect(session.messages.at(-1)).toEqual({ role: 'assistant', content: r.text });
    await expect(session.send('x', { cache: model.createCache() } as never)).rejects.toThrow(/the session owns its cache/);
    await expect(session.send('x', { maxLength: 10 } as never)).rejects.toThrow(/the session owns its cache/);

    const small = createChatSession(chatModel({ script: replies(encode('Hello world')) }), { maxLength: 40 });
    await expect(small.send('a long message that does not fit in forty positions')).rejects.toThrow(/more than the cache's 40 positions/);
    small.reset();
    expect(small.messages).toEqual([]);
    expect(() => createChatSession(chatModel(), { maxLength: 0 })).toThrow(/maxLength must be an integer in \[1, 256\]/);
    expect(() => createChatSession(chatModel(), { sytem: 'x' } as never)).toThrow(/did you mean system\?/);
    session.dispose();
    await expect(session.send('x')).rejects.toThrow(/the session was disposed/);
  });
});
