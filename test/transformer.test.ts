// Transformer layers against PyTorch's own outputs (tools/transformer_fixtures.py: torch.nn.
// TransformerEncoderLayer / TransformerDecoderLayer, post-norm ReLU and pre-norm GELU, causal and
// padding masks), on every build; state_dict loading with a prefix, and its errors.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, runtimeFor } from './helpers.js';

type Json = { shape: number[]; data: number[] };
const fixture = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'transformer.json'), 'utf8')) as {
  cases: {
    config: { dModel: number; nhead: number; dimFeedforward: number; activation: 'relu' | 'gelu'; normFirst: boolean; layerNormEps: number };
    encoder: { weights: Record<string, Json>; src: Json; outputs: Record<string, Json>; keyLengths: number[] };
    decoder: { weights: Record<string, Json>; tgt: Json; memory: Json; outputs: Record<string, Json>; memoryKeyLengths: number[] };
  }[];
};
const tensor = (j: Json) => ({ data: Float32Array.from(j.data), shape: j.shape });
const weights = (w: Record<string, Json>) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, tensor(v)]));

/** ‖got − want‖ / ‖want‖ (the normwise error) and the max abs error. */
function errors(got: Float32Array, want: Json): { normwise: number; maxAbs: number } {
  let num = 0, den = 0, maxAbs = 0;
  for (let i = 0; i < want.data.length; i++) {
    const d = got[i]! - want.data[i]!;
    num += d * d;
    den += want.data[i]! * want.data[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  return { normwise: Math.sqrt(num / den), maxAbs: Number.isNaN(num) ? NaN : maxAbs };
}

describe.each(BUILDS)('transformer layers on the %s build', (backend) => {
  for (const c of fixture.cases) {
    const name = `${c.config.activation} ${c.config.normFirst ? 'pre-norm' : 'post-norm'}`;
    it(`encoder layer, ${name}: plain, causal, key lengths`, async () => {
      const rt = await runtimeFor(backend);
      const layer = rt.transformerEncoderLayer({ ...c.config, weights: weights(c.encoder.weights) });
      const src = tensor(c.encoder.src);
      const runs = {
        plain: layer.forward(src),
        causal: layer.forward(src, { causal: true }),
        keyLengths: layer.forward(src, { keyLengths: c.encoder.keyLengths }),
      };
      for (const [run, got] of Object.entries(runs)) {
        const e = errors(got, c.encoder.outputs[run]!);
        expect(e.normwise, `${run}: normwise error`).toBeLessThanOrEqual(1e-5);
        expect(e.maxAbs, `${run}: max abs error`).toBeLessThanOrEqual(1e-5);
      }
      layer.dispose();
    });

    it(`decoder layer, ${name}: causal, memory key lengths`, async () => {
      const rt = await runtimeFor(backend);
      const layer = rt.transformerDecoderLayer({ ...c.config, weights: weights(c.decoder.weights) });
      const [tgt, memory] = [tensor(c.decoder.tgt), tensor(c.decoder.memory)];
      const runs = {
        causal: layer.forward(tgt, memory, { causal: true }),
        memoryKeyLengths: layer.forward(tgt, memory, { causal: true, memoryKeyLengths: c.decoder.memoryKeyLengths }),
      };
      for (const [run, got] of Object.entries(runs)) {
        const e = errors(got, c.decoder.outputs[run]!);
        expect(e.normwise, `${run}: normwise error`).toBeLessThanOrEqual(1e-5);
        expect(e.maxAbs, `${run}: max abs error`).toBeLessThanOrEqual(1e-5);
      }
      layer.dispose();
    });
  }
});

describe('the plain-JS twins of the transformer layers', () => {
  for (const c of fixture.cases) {
    it(`match PyTorch: ${c.config.activation} ${c.config.normFirst ? 'pre-norm' : 'post-norm'}`, () => {
      const enc = reference.transformerEncoderLayer({ ...c.config, weights: weights(c.encoder.weights) });
      const src = tensor(c.encoder.src);
      expect(errors(enc.forward(src, { causal: true }), c.encoder.outputs['causal']!).maxAbs).toBeLessThanOrEqual(1e-5);
      expect(errors(enc.forward(src, { keyLengths: c.encoder.keyLengths }), c.encoder.outputs['keyLengths']!).maxAbs).toBeLessThanOrEqual(1e-5);
      const dec = reference.transformerDecoderLayer({ ...c.config, weights: weights(c.decoder.weights) });
      const out = dec.forward(tensor(c.decoder.tgt), tensor(c.decoder.memory), { causal: true, memoryKeyLengths: c.decoder.memoryKeyLengths });
      expect(errors(out, c.decoder.outputs['memoryKeyLengths']!).maxAbs).toBeLessThanOrEqual(1e-5);
    });
  }
});

describe('transformer layer state_dicts', () => {
  it('loads a submodule with a prefix and reports missing and unexpected names together, allocating nothing', async () => {
    const rt = await runtimeFor('simd');
    const c = fixture.cases[0]!;
    const prefixed = Object.fromEntries(Object.entries(weights(c.encoder.weights)).map(([k, v]) => [`encoder.layers.0.${k}`, v]));
    const layer = rt.transformerEncoderLayer({ ...c.config, weights: { ...prefixed, 'decoder.x': tensor(c.encoder.src) }, prefix: 'encoder.layers.0.' });
    const e = errors(layer.forward(tensor(c.encoder.src)), c.encoder.outputs['plain']!);
    expect(e.maxAbs).toBeLessThanOrEqual(1e-5);
    layer.dispose();
    const before = rt.memoryStats();
    const broken = { ...weights(c.encoder.weights), 'linear3.weight': tensor(c.encoder.src) } as Record<string, ReturnType<typeof tensor>>;
    delete broken['norm2.bias'];
    expect(() => rt.transformerEncoderLayer({ ...c.config, weights: broken })).toThrow(/^transformerEncoderLayer: the weights do not match the layer's state_dict: missing norm2\.bias; unexpected linear3\.weight$/);
    const wrong = { ...weights(c.encoder.weights), 'linear1.weight': tensor(c.encoder.src) };
    expect(() => rt.transformerEncoderLayer({ ...c.config, weights: wrong })).toThrow(/^transformerEncoderLayer: weights\['linear1\.weight'\]: expected shape \[32, 16\].*received \[2, 7, 16\]$/);
    // @ts-expect-error PyTorch's constructor names are d_model, …: ours are camelCase
    expect(() => rt.transformerEncoderLayer({ ...c.config, d_model: 16, weights: weights(c.encoder.weights) })).toThrow(/config\.d_model is not an option of transformerEncoderLayer; did you mean dModel\?/);
    expect(() => rt.transformerEncoderLayer({ ...c.config, activation: 'swish' as never, weights: weights(c.encoder.weights) })).toThrow(/activation must be 'relu', 'gelu' or 'gelu_tanh'/);
    expect(rt.memoryStats().bytesInUse).toBe(before.bytesInUse);
  });
});

describe.each(BUILDS)('incremental decoding with a transformer decoder layer on the %s build', (backend) => {
  for (const c of fixture.cases) {
    it(`bind + step token by token equals the causal forward (${c.config.activation}, ${c.config.normFirst ? 'pre' : 'post'}-norm), and allocates nothing per step`, async () => {
      const rt = await runtimeFor(backend);
      const layer = rt.transformerDecoderLayer({ ...c.config, weights: weights(c.decoder.weights) });
      const [tgt, memory] = [tensor(c.decoder.tgt), tensor(c.decoder.memory)];
      const opts = { causal: true, memoryKeyLengths: c.decoder.memoryKeyLengths };
      const full = layer.forward(tgt, memory, opts);
      const [B, T, E] = tgt.shape as [number, number, number];
      const bound = layer.bind(memory, { memoryKeyLengths: c.decoder.memoryKeyLengths });
      const cache = layer.createCache({ batch: B, maxLength: T });
      for (let t = 0; t < T; t++) {
        const x = new Float32Array(B * E);
        for (let b = 0; b < B; b++) x.set(tgt.data.subarray((b * T + t) * E, (b * T + t + 1) * E), b * E);
        const y = bound.step({ data: x, shape: [B, E] }, cache);
        for (let b = 0; b < B; b++) {
          const want = full.subarray((b * T + t) * E, (b * T + t + 1) * E);
          let err = 0;
          for (let i = 0; i < E; i++) err = Math.max(err, Math.abs(y[b * E + i]! - want[i]!));
          expect(err, `t=${t} b=${b}`).toBeLessThanOrEqual(1e-5);
        }
      }
      expect(() => bound.step({ data: new Float32Array(B * E), shape: [B, E] }, cache)).toThrow(/cache is full/);
      // a steady decode loop leaves memory flat
      const x = { data: new Float32Array(B * E).fill(0.1), shape: [B, E] };
      cache.reset();
      bound.step(x, cache);
      const before = rt.memoryStats();
      for (let i = 0; i < 1000; i++) {
        if (cache.length === T) cache.reset();
        bound.step(x, cache);
      }
      const after = rt.memoryStats();
      expect(after.bytesInUse).toBe(before.bytesInUse);
      expect(after.capacityBytes).toBe(before.capacityBytes);
      expect(after.allocations).toBe(before.allocations);
      bound.dispose();
      cache.dispose();
      layer.dispose();
    });
  }
});

describe.each(BUILDS)('a whole nn.TransformerEncoder state_dict on the %s build', (backend) => {
  it('loads layers.N.* (and the final norm) under a prefix and matches PyTorch', async () => {
    const rt = await runtimeFor(backend);
    const enc = (fixture as unknown as { encoder: { config: Record<string, unknown>; weights: Record<string, Json>; src: Json; causal: Json } }).encoder;
    const stack = rt.transformerEncoder({ ...(enc.config as { numLayers: number; dModel: number; nhead: number; dimFeedforward: number }), weights: weights(enc.weights) });
    expect(stack.numLayers).toBe(2);
    const twin = reference.transformerEncoder({ ...(enc.config as { numLayers: number; dModel: number; nhead: number; dimFeedforward: number }), weights: weights(enc.weights) });
    expect(errors(twin.forward(tensor(enc.src), { causal: true }), enc.causal).maxAbs).toBeLessThanOrEqual(1e-5);
    const e = errors(stack.forward(tensor(enc.src), { causal: true }), enc.causal);
    expect(e.maxAbs).toBeLessThanOrEqual(1e-5);
    expect(e.normwise).toBeLessThanOrEqual(1e-5);
    stack.dispose();
    expect(() => rt.transformerEncoder({ ...(enc.config as { numLayers: number; dModel: number; nhead: number; dimFeedforward: number }), numLayers: 1, weights: weights(enc.weights) }))
      .toThrow(/^transformerEncoder: the weights do not match 1 layer and a final norm: unexpected encoder\.layers\.1\.self_attn\.in_proj_weight, encoder\.layers\.1\.self_attn\.in_proj_bias, encoder\.layers\.1\.self_attn\.out_proj\.weight and 9 more$/);
  });
});

describe.each(BUILDS)('the SwiGLU feed-forward on the %s build', (backend) => {
  it('matches its float64 twin (Llama names, a prefix), and reports wrong names', async () => {
    const rt = await runtimeFor(backend);
    const [H, I] = [24, 40];
    const w = (shape: number[], seed: number) => ({ data: reference.uniform(shape[0]! * shape[1]!, seed, -0.3, 0.3), shape });
    const weights = { 'mlp.gate_proj.weight': w([I, H], 1), 'mlp.up_proj.weight': w([I, H], 2), 'mlp.down_proj.weight': w([H, I], 3) };
    const x = { data: reference.uniform(3 * 5 * H, 4, -2, 2), shape: [3, 5, H] };
    const ff = rt.swigluFeedForward({ hiddenSize: H, intermediateSize: I, weights, prefix: 'mlp.' });
    const want = reference.swigluFeedForward({ hiddenSize: H, intermediateSize: I, weights, prefix: 'mlp.' }).forward(x);
    const got = ff.forward(x);
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
    expect(err).toBeLessThanOrEqual(1e-5);
    ff.dispose();
    expect(() => rt.swigluFeedForward({ hiddenSize: H, intermediateSize: I, weights: { ...weights, 'mlp.gate.weight': w([I, H], 5) }, prefix: 'mlp.' }))
      .toThrow(/^swigluFeedForward: the weights do not match gate_proj, up_proj, down_proj: unexpected mlp\.gate\.weight \(did you mean mlp\.gate_proj\.weight\?\)$/);
  });
});

describe.each(BUILDS)('a whole nn.TransformerDecoder state_dict on the %s build', (backend) => {
  it('loads layers.N.* and the final norm under a prefix and matches PyTorch (pre-norm, causal, memory padding)', async () => {
    const rt = await runtimeFor(backend);
    type Config = { numLayers: number; dModel: number; nhead: number; dimFeedforward: number };
    const dec = (fixture as unknown as { decoder: { config: Config; weights: Record<string, Json>; tgt: Json; memory: Json; memoryKeyLengths: number[]; output: Json } }).decoder;
    const opts = { causal: true, memoryKeyLengths: dec.memoryKeyLengths };
    const stack = rt.transformerDecoder({ ...dec.config, weights: weights(dec.weights) });
    const e = errors(stack.forward(tensor(dec.tgt), tensor(dec.memory), opts), dec.output);
    expect(e.maxAbs).toBeLessThanOrEqual(1e-5);
    expect(e.normwise).toBeLessThanOrEqual(1e-5);
    stack.dispose();
    const twin = reference.transformerDecoder({ ...dec.config, weights: weights(dec.weights) });
    expect(errors(twin.forward(tensor(dec.tgt), tensor(dec.memory), opts), dec.output).maxAbs).toBeLessThanOrEqual(1e-5);
  });
});

describe('transformer layer options: dimFeedforward from the weights, masks, batchFirst', () => {
  const c = fixture.cases[0]!;
  const { dimFeedforward: ff, ...config } = c.config;

  it('reads dimFeedforward from linear1.weight, and a given one that disagrees is a RangeError naming both', async () => {
    const rt = await runtimeFor('simd');
    const layer = rt.transformerEncoderLayer({ ...config, weights: weights(c.encoder.weights) });
    expect(layer.dimFeedforward).toBe(ff);
    expect(errors(layer.forward(tensor(c.encoder.src)), c.encoder.outputs['plain']!).maxAbs).toBeLessThanOrEqual(1e-5);
    layer.dispose();
    const before = rt.memoryStats().bytesInUse;
    expect(() => rt.transformerEncoderLayer({ ...config, dimFeedforward: 64, weights: weights(c.encoder.weights) }))
      .toThrow(new RangeError(`transformerEncoderLayer: dimFeedforward 64 does not match weights['linear1.weight'] of shape [${ff}, 16] (dimFeedforward ${ff}); omit dimFeedforward to read it from the weights`));
    expect(() => rt.transformerDecoderLayer({ ...config, dimFeedforward: 8, weights: weights(c.decoder.weights) })).toThrow(/^transformerDecoderLayer: dimFeedforward 8 does not match/);
    expect(() => reference.transformerEncoderLayer({ ...config, dimFeedforward: 64, weights: weights(c.encoder.weights) })).toThrow(/dimFeedforward 64 does not match .*\(dimFeedforward 32\)/);
    expect(rt.memoryStats().bytesInUse).toBe(before);
  });

  it('checks the masks and layout options: TypeError / RangeError naming the option, expected and received', async () => {
    const rt = await runtimeFor('simd');
    const layer = rt.transformerEncoderLayer({ ...config, weights: weights(c.encoder.weights) });
    const src = tensor(c.encoder.src); // [2, 7, 16]
    const before = rt.memoryStats().bytesInUse;
    expect(() => layer.forward(src, { srcMask: { data: new Uint8Array(36), shape: [6, 6] } }))
      .toThrow(new RangeError('options.srcMask: expected shape [7, 7] ([L, S]) or [8, 7, 7] ([B·nhead, L, S]), received [6, 6]'));
    expect(() => layer.forward(src, { srcMask: { data: new Int32Array(49) as never, shape: [7, 7] } }))
      .toThrow(new TypeError('options.srcMask.data must be a Uint8Array or boolean[] (true = masked) or a Float32Array (added to the scores) of 49 entries, received Int32Array(49)'));
    expect(() => layer.forward(src, { srcKeyPaddingMask: { data: new Uint8Array(14), shape: [7, 2] } }))
      .toThrow(new RangeError('options.srcKeyPaddingMask: expected shape [2, 7] ([B, S]: true where a key is padding), received [7, 2]'));
    // @ts-expect-error PyTorch's argument names are snake_case: ours are camelCase
    expect(() => layer.forward(src, { src_key_padding_mask: { data: new Uint8Array(14), shape: [2, 7] } })).toThrow(/options\.src_key_padding_mask is not an option of forward/);
    // @ts-expect-error the decoder's names do not apply to the encoder
    expect(() => layer.forward(src, { tgtMask: { data: new Uint8Array(49), shape: [7, 7] } })).toThrow(TypeError);
    expect(rt.memoryStats().bytesInUse).toBe(before);
    layer.dispose();
    expect(() => rt.transformerEncoderLayer({ ...config, batchFirst: 'no' as never, weights: weights(c.encoder.weights) })).toThrow(new TypeError('transformerEncoderLayer: batchFirst must be a boolean, received "no"'));
    const seqFirst = rt.transformerEncoderLayer({ ...config, batchFirst: false, weights: weights(c.encoder.weights) });
    expect(() => seqFirst.forward({ data: new Float32Array(2 * 7 * 8), shape: [2, 7, 8] })).toThrow(new RangeError('transformerEncoderLayer.forward: src: expected shape [L, B, 16] (batchFirst false, dModel 16), received [2, 7, 8]'));
    seqFirst.dispose();
    const dec = rt.transformerDecoderLayer({ ...config, weights: weights(c.decoder.weights) });
    const [tgt, memory] = [tensor(c.decoder.tgt), tensor(c.decoder.memory)]; // [2, 7, 16], [2, 9, 16]
    expect(() => dec.forward(tgt, memory, { memoryMask: { data: new Float32Array(49), shape: [7, 7] } })).toThrow(/^options\.memoryMask: expected shape \[7, 9\] \(\[L, S\]\) or \[8, 7, 9\]/);
    expect(() => dec.forward(tgt, memory, { memoryKeyPaddingMask: { data: [true, false], shape: [2, 9] } })).toThrow(/^options\.memoryKeyPaddingMask\.data must be a Uint8Array or boolean\[\] of 18 entries/);
    dec.dispose();
  });

  it('batchFirst: false takes and returns [L, B, E]: the batch-first result transposed, for the layers, the stacks and bind/step', async () => {
    const rt = await runtimeFor('simd');
    const swap = (x: Float32Array, a: number, b: number, e: number) => {
      const y = new Float32Array(x.length);
      for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) y.set(x.subarray((i * b + j) * e, (i * b + j + 1) * e), (j * a + i) * e);
      return y;
    };
    const [tgt, memory] = [tensor(c.decoder.tgt), tensor(c.decoder.memory)];
    const [B, T, E] = tgt.shape as [number, number, number];
    const S = memory.shape[1]!;
    const padding = { data: Uint8Array.from({ length: B * S }, (_, i) => Number(i < 3)), shape: [B, S] }; // left padding in batch 0
    const opts = { causal: true, memoryKeyPaddingMask: padding };
    const bf = rt.transformerDecoderLayer({ ...config, weights: weights(c.decoder.weights) });
    const sf = rt.transformerDecoderLayer({ ...config, batchFirst: false, weights: weights(c.decoder.weights) });
    const want = swap(bf.forward(tgt, memory, opts), B, T, E);
    const tgtLBE = { data: swap(tgt.data, B, T, E), shape: [T, B, E] };
    const memLBE = rt.tensor(swap(memory.data, B, S, E), [S, B, E]); // a resident tensor works too
    expect(Array.from(sf.forward(tgtLBE, memLBE, opts))).toEqual(Array.from(want));
    // incremental decoding over a bound, left-padded [S, B, E] memory: step rows are [B, E] in either layout
    const bound = sf.bind(memLBE, { memoryKeyPaddingMask: padding });
    const cache = sf.createCache({ batch: B, maxLength: T });
    const full = sf.forward(tgtLBE, memLBE, opts);
    let maskMatters = 0; // the padding changes batch 0's rows
    const unpadded = sf.forward(tgtLBE, memLBE, { causal: true });
    for (let i = 0; i < full.length; i++) maskMatters = Math.max(maskMatters, Math.abs(full[i]! - unpadded[i]!));
    expect(maskMatters).toBeGreaterThan(1e-3);
    for (let t = 0; t < T; t++) {
      const y = bound.step({ data: tgtLBE.data.slice(t * B * E, (t + 1) * B * E), shape: [B, E] }, cache);
      let err = 0;
      for (let i = 0; i < B * E; i++) err = Math.max(err, Math.abs(y[i]! - full[t * B * E + i]!));
      expect(err).toBeLessThanOrEqual(1e-5);
    }
    bound.dispose();
    cache.dispose();
    memLBE.dispose();
    bf.dispose();
    sf.dispose();
    const stackConfig = { dModel: 16, nhead: 4, numLayers: 2, activation: 'gelu' as const, norm: true, prefix: 'encoder.' };
    const enc = (fixture as unknown as { encoder: { weights: Record<string, Json>; src: Json } }).encoder;
    const stack = rt.transformerEncoder({ ...stackConfig, weights: weights(enc.weights) });
    const stackLBE = rt.transformerEncoder({ ...stackConfig, batchFirst: false, weights: weights(enc.weights) });
    const [b2, l2] = enc.src.shape as [number, number];
    const src = tensor(enc.src);
    expect(Array.from(stackLBE.forward({ data: swap(src.data, b2, l2, 16), shape: [l2, b2, 16] }, { causal: true }))).toEqual(Array.from(swap(stack.forward(src, { causal: true }), b2, l2, 16)));
    stack.dispose();
    stackLBE.dispose();
  });
});
