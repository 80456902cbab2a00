// Errors a person can read: state_dict name mismatches (short, with the prefixes of a whole
// model's state_dict), prefixes without their trailing dot, PyTorch option names mapped to ours,
// and the backend reason on engines without relaxed SIMD.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BACKENDS, choiceReason } from '../src/engine/backend.js';
import { checkOptions } from '../src/engine/validate.js';
import { initRuntime, tensor } from './helpers.js';

type Json = { shape: number[]; data: number[] };
const fixture = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'transformer.json'), 'utf8')) as {
  encoder: { config: { dModel: number; nhead: number; dimFeedforward: number; activation: 'relu' | 'gelu' }; weights: Record<string, Json>; src: Json };
};
const asTensor = (j: Json) => ({ data: Float32Array.from(j.data), shape: j.shape });
/** The state_dict of a 2-layer nn.TransformerEncoder (no final norm): layers.0.self_attn.in_proj_weight, layers.0.linear1.weight, … */
const model = Object.fromEntries(
  Object.entries(fixture.encoder.weights).filter(([k]) => !k.startsWith('encoder.norm')).map(([k, v]) => [k.replace(/^encoder\./, ''), asTensor(v)]),
);
const { dModel: E, nhead: H, dimFeedforward, activation } = fixture.encoder.config;
const x = asTensor(fixture.encoder.src);

function messageOf(fn: () => unknown): { type: string; message: string } {
  try {
    fn();
  } catch (error) {
    return { type: (error as Error).constructor.name, message: (error as Error).message };
  }
  throw new Error('expected an error');
}

describe('a whole model state_dict given to one module', () => {
  it('multiHeadAttention: one short paragraph that names the prefixes to pass', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    expect(Object.keys(model)).toHaveLength(24);
    const before = rt.memoryStats();
    const { type, message } = messageOf(() => rt.multiHeadAttention({ embedDim: E, numHeads: H, weights: model }));
    expect(type).toBe('TypeError');
    expect(message.length).toBeLessThan(400);
    expect(message).toBe(
      'multiHeadAttention: the weights do not match its state_dict: missing in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias; ' +
        'unexpected layers.0.self_attn.in_proj_weight, layers.0.self_attn.in_proj_bias, layers.0.self_attn.out_proj.weight and 21 more. ' +
        "This looks like a whole model's state_dict: pass prefix 'layers.0.self_attn.' (or 'layers.1.self_attn.') to load one module of it",
    );
    expect(rt.memoryStats()).toEqual(before);
    // the twin says the same
    expect(messageOf(() => reference.multiHeadAttention({ embedDim: E, numHeads: H, weights: model })).message).toBe(message);
  });

  it('a misspelt prefix: says no name starts with it and suggests the ones found', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const { message } = messageOf(() => rt.multiHeadAttention({ embedDim: E, numHeads: H, weights: model, prefix: 'layer.0.self_attn' }));
    expect(message.length).toBeLessThan(400);
    expect(message).toMatch(/\(no name starts with 'layer\.0\.self_attn\.'\)\. This looks like a whole model's state_dict: pass prefix 'layers\.0\.self_attn\.' \(or 'layers\.1\.self_attn\.'\)/);
  });

  it('transformer layers and stacks, Bahdanau, GRU and embedding use the same rule', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const layer = messageOf(() => rt.transformerEncoderLayer({ dModel: E, nhead: H, dimFeedforward, activation, weights: model }));
    expect(layer.type).toBe('TypeError');
    expect(layer.message.length).toBeLessThan(400);
    expect(layer.message).toMatch(/^transformerEncoderLayer: the weights do not match the layer's state_dict: missing linear1\.weight, .* and \d+ more; unexpected layers\.0\..* and \d+ more\. .*pass prefix 'layers\.0\.' \(or 'layers\.1\.'\)/);
    const stack = messageOf(() => rt.transformerEncoder({ dModel: E, nhead: H, dimFeedforward, activation, numLayers: 2, weights: Object.fromEntries(Object.entries(model).map(([k, v]) => [`encoder.${k}`, v])) }));
    expect(stack.message).toMatch(/^transformerEncoder: the weights do not match 2 layers: unexpected encoder\.layers\.0\.self_attn\.in_proj_weight, .* and 21 more\. .*pass prefix 'encoder\.' to load one module of it$/);
    const Hd = 4;
    const bahdanau = { 'Wa.weight': tensor([Hd, Hd], 1), 'Wa.bias': tensor([Hd], 2), 'Ua.weight': tensor([Hd, Hd], 3), 'Ua.bias': tensor([Hd], 4), 'Va.weight': tensor([1, Hd], 5), 'Va.bias': tensor([1], 6) };
    const decoder = Object.fromEntries(Object.entries(bahdanau).map(([k, v]) => [`decoder.attention.${k}`, v]));
    expect(messageOf(() => rt.bahdanauAttention(decoder)).message).toMatch(/pass prefix 'decoder\.attention\.' to load one module of it$/);
    const gru = { weight_ih_l0: tensor([3 * Hd, Hd], 1), weight_hh_l0: tensor([3 * Hd, Hd], 2), bias_ih_l0: tensor([3 * Hd], 3), bias_hh_l0: tensor([3 * Hd], 4) };
    const seq2seq = { ...Object.fromEntries(Object.entries(gru).map(([k, v]) => [`encoder.gru.${k}`, v])), 'encoder.embedding.weight': tensor([5, Hd], 5) };
    expect(messageOf(() => rt.gru({ inputSize: Hd, hiddenSize: Hd, weights: seq2seq })).message).toMatch(/^gru: .*pass prefix 'encoder\.gru\.' to load one module of it$/);
    expect(messageOf(() => rt.embedding(seq2seq)).message).toMatch(/^embedding: the weights do not match its state_dict: missing weight; unexpected .*pass prefix 'encoder\.embedding\.' to load one module of it$/);
    // a long list of unexpected names is cut short with a count
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`extra.${i}`, tensor([1], i)]));
    const long = messageOf(() => rt.gru({ inputSize: Hd, hiddenSize: Hd, weights: { ...gru, ...many } })).message;
    expect(long).toBe('gru: the weights do not match its state_dict: unexpected extra.0, extra.1, extra.2 and 197 more');
  });
});

describe('a prefix without its trailing dot', () => {
  it('loads the same module as with the dot, in the runtime and the twin', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    for (const p of ['layers.1.self_attn', 'layers.1.self_attn.']) {
      const got = rt.multiHeadAttention({ embedDim: E, numHeads: H, weights: model, prefix: p }).forward(x).output;
      const want = rt.multiHeadAttention({ embedDim: E, numHeads: H, weights: model, prefix: 'layers.1.self_attn.' }).forward(x).output;
      expect([...got]).toEqual([...want]);
      const twin = reference.multiHeadAttention({ embedDim: E, numHeads: H, weights: model, prefix: p }).forward(x).output;
      const twinWant = reference.multiHeadAttention({ embedDim: E, numHeads: H, weights: model, prefix: 'layers.1.self_attn.' }).forward(x).output;
      expect([...twin]).toEqual([...twinWant]);
    }
    const config = { dModel: E, nhead: H, dimFeedforward, activation, weights: model };
    const layer = rt.transformerEncoderLayer({ ...config, prefix: 'layers.0' }).forward(x);
    expect([...layer]).toEqual([...rt.transformerEncoderLayer({ ...config, prefix: 'layers.0.' }).forward(x)]);
    expect([...reference.transformerEncoderLayer({ ...config, prefix: 'layers.0' }).forward(x)]).toEqual([...reference.transformerEncoderLayer({ ...config, prefix: 'layers.0.' }).forward(x)]);
    const nested = Object.fromEntries(Object.entries(model).map(([k, v]) => [`encoder.${k}`, v]));
    const stack = rt.transformerEncoder({ ...config, weights: nested, numLayers: 2, prefix: 'encoder' }).forward(x);
    expect([...stack]).toEqual([...rt.transformerEncoder({ ...config, weights: nested, numLayers: 2, prefix: 'encoder.' }).forward(x)]);
    const table = tensor([5, 4], 1);
    expect([...rt.embedding({ 'enc.embedding.weight': table }, { prefix: 'enc.embedding' }).lookup([2])]).toEqual([...table.data.subarray(8, 12)]);
  });
});

describe("PyTorch's option names", () => {
  it('map to ours', async () => {
    const rt = await initRuntime({ backend: 'simd' });
    const w = { in_proj_weight: tensor([12, 4], 1), in_proj_bias: tensor([12], 2), 'out_proj.weight': tensor([4, 4], 3), 'out_proj.bias': tensor([4], 4) };
    const mha = rt.multiHeadAttention({ embedDim: 4, numHeads: 2, weights: w });
    const x4 = tensor([2, 3, 4], 5);
    const hint = (options: object) => messageOf(() => mha.forward(x4, options as never)).message;
    expect(hint({ key_padding_mask: {} })).toBe('options.key_padding_mask is not an option of forward; did you mean keyPaddingMask?');
    expect(hint({ attn_mask: {} })).toMatch(/did you mean attnMask\?$/);
    expect(hint({ need_weights: true })).toMatch(/did you mean needWeights\?$/);
    expect(hint({ is_causal: true })).toMatch(/did you mean causal\?$/);
    // no mask option: padding is by lengths
    const q = tensor([1, 2, 3, 4], 6);
    expect(messageOf(() => rt.scaledDotProductAttention(q, q, q, { key_padding_mask: {} } as never)).message).toMatch(/did you mean keyLengths\?$/);
    expect(messageOf(() => rt.scaledDotProductAttention(q, q, q, { need_weights: true } as never)).message).toMatch(/did you mean returnWeights\?$/);
    const layer = rt.transformerEncoderLayer({ dModel: E, nhead: H, dimFeedforward, activation, weights: model, prefix: 'layers.0.' });
    expect(messageOf(() => layer.forward(x, { src_key_padding_mask: {} } as never)).message).toMatch(/did you mean (srcKeyPaddingMask|keyPaddingMask|keyLengths)\?$/);
    expect(messageOf(() => rt.transformerEncoderLayer({ dModel: E, nhead: H, dim_feedforward: dimFeedforward, weights: model } as never)).message).toMatch(/config\.dim_feedforward is not an option of transformerEncoderLayer; did you mean dimFeedforward\?$/);
    // the table is shared by every options object
    const known = ['dModel', 'nhead', 'batchFirst', 'srcKeyPaddingMask'];
    expect(() => checkOptions('config', { batch_first: true }, known, 'f')).toThrow(/^config\.batch_first is not an option of f; did you mean batchFirst\?$/);
    expect(() => checkOptions('options', { src_key_padding_mask: [] }, known, 'f')).toThrow(/did you mean srcKeyPaddingMask\?$/);
    expect(() => checkOptions('options', { keypaddingmask: [] }, ['keyPaddingMask', 'keyLengths'], 'f')).toThrow(/did you mean keyPaddingMask\?$/);
  });
});

describe('runtime.backendReason', () => {
  it('names the Node flag for relaxed SIMD on Node < 22', () => {
    expect(choiceReason(['simd', 'scalar'], 20)).toBe('best build this engine validates (no relaxed-simd: Node 20 runs it with the flag --experimental-wasm-relaxed-simd; Node 22+ has relaxed SIMD on by default)');
    expect(choiceReason([...BACKENDS], 20)).toBe('best build; the engine supports every feature it uses');
    expect(choiceReason(['scalar'], undefined)).toBe('best build this engine validates (no relaxed-simd, no simd)');
    expect(choiceReason(['simd', 'scalar'], 22)).toMatch(/^best build this engine validates \(no relaxed-simd: Node 22\+ has relaxed SIMD on by default/);
  });

  it('is what init reports', async () => {
    const rt = await initRuntime();
    expect(rt.backendReason).toBe(choiceReason(BACKENDS.filter((b) => b === rt.backend || BACKENDS.indexOf(b) > BACKENDS.indexOf(rt.backend)), Number.parseInt(process.versions.node, 10)));
  });
});
