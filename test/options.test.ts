// Every options object of the public API rejects names it does not know, at run time (a TypeError
// naming the key and the nearest known name) and at compile time (the @ts-expect-error lines fail
// the type-check in `npm test` if an unknown name ever compiles again).
import { describe, expect, it } from 'vitest';
import { init, reference } from '../src/index.js';
import { maxAbsDiff, runtimeFor, tensor } from './helpers.js';

describe('unknown option names', () => {
  it('init rejects them', async () => {
    // @ts-expect-error onnxruntime spells it numThreads
    await expect(init({ numThreads: 2 })).rejects.toThrow(/^options\.numThreads is not an option of init; did you mean threads\?/);
    // @ts-expect-error a typo
    await expect(init({ initialMemoryMB: 32 })).rejects.toThrow(/options\.initialMemoryMB is not an option of init; did you mean initialMemoryMiB\?/);
  });

  it('scaledDotProductAttention rejects PyTorch names, masks and windows it does not support', async () => {
    const rt = await runtimeFor('simd');
    const [q, k, v] = [tensor([1, 2, 4, 8], 1), tensor([1, 2, 6, 8], 2), tensor([1, 2, 6, 8], 3)];
    const before = rt.memoryStats();
    // @ts-expect-error PyTorch's name
    expect(() => rt.scaledDotProductAttention(q, k, v, { isCausal: true })).toThrow(/^options\.isCausal is not an option of scaledDotProductAttention; did you mean causal\?$/);
    // @ts-expect-error PyTorch's functional name, with a known option beside it
    expect(() => rt.scaledDotProductAttention(q, k, v, { scale: 1, is_causal: true })).toThrow(/options\.is_causal .*did you mean causal\?/);
    // @ts-expect-error the mask option is attnMask
    expect(() => rt.scaledDotProductAttention(q, k, v, { mask: tensor([4, 6], 4) })).toThrow(/options\.mask is not an option of scaledDotProductAttention; did you mean attnMask\?/);
    // @ts-expect-error PyTorch's name
    expect(() => rt.scaledDotProductAttention(q, k, v, { attn_mask: tensor([4, 6], 4) })).toThrow(/options\.attn_mask .*did you mean attnMask\?/);
    // @ts-expect-error PyTorch's flag: grouped-query attention follows from the shapes
    expect(() => rt.scaledDotProductAttention(q, k, v, { enable_gqa: true })).toThrow(/options\.enable_gqa .*give k and v fewer heads than q/);
    // @ts-expect-error a window is [left, right]
    expect(() => rt.scaledDotProductAttention(q, k, v, { window: 4 })).toThrow(/^options\.window must be \[left, right\], two integers ≥ −1/);
    expect(() => rt.scaledDotProductAttention(q, k, v, 'causal' as never)).toThrow(TypeError);
    expect(rt.memoryStats()).toEqual(before);
    // the same call with the right name still works
    const got = rt.scaledDotProductAttention(q, k, v, { causal: true }).output;
    expect(maxAbsDiff(got, reference.scaledDotProductAttention(q, k, v, { causal: true }).output)).toBeLessThanOrEqual(1e-5);
  });

  it('every other op and module rejects them too', async () => {
    const rt = await runtimeFor('simd');
    const a = tensor([3, 4], 1);
    // @ts-expect-error snake case
    expect(() => rt.matmul(a, tensor([5, 4], 2), { transpose_b: true })).toThrow(/options\.transpose_b is not an option of matmul; did you mean transposeB\?/);
    // @ts-expect-error no dim option
    expect(() => rt.softmax(a, { dim: -1 })).toThrow(/options\.dim is not an option of softmax; its options are mask, scale, resident/);
    // @ts-expect-error
    expect(() => rt.attentionContext(tensor([2, 3], 1), a, { residnet: true })).toThrow(/did you mean resident\?/);
    // @ts-expect-error
    expect(() => rt.rope(tensor([2, 4], 1), { style: 'half', offest: 1 })).toThrow(/options\.offest is not an option of rope; did you mean offset\?/);
    // @ts-expect-error
    expect(() => rt.luongAttention({ score: 'dot', scores: 'dot' })).toThrow(/options\.scores is not an option of luongAttention; did you mean score\?/);
    const luong = rt.luongAttention({ score: 'dot' });
    // @ts-expect-error
    expect(() => luong.bind(tensor([5, 4], 3), { length: [5] })).toThrow(/options\.length is not an option of bind; did you mean lengths\?/);
    const H = 4;
    const bahdanau = {
      'Wa.weight': tensor([H, H], 1), 'Wa.bias': tensor([H], 2), 'Ua.weight': tensor([H, H], 3),
      'Ua.bias': tensor([H], 4), 'Va.weight': tensor([1, H], 5), 'Va.bias': tensor([1], 6),
    };
    // a state_dict with an extra entry: state_dicts are records (a whole model with a prefix is one), so this is a run-time check
    expect(() => rt.bahdanauAttention({ ...bahdanau, 'Wa.weights': tensor([H, H], 7) })).toThrow(/^bahdanauAttention: the weights do not match its state_dict: unexpected Wa\.weights \(did you mean Wa\.weight\?\)$/);
    const weights = { in_proj_weight: tensor([3 * H, H], 1), in_proj_bias: tensor([3 * H], 2), 'out_proj.weight': tensor([H, H], 3), 'out_proj.bias': tensor([H], 4) };
    // @ts-expect-error PyTorch's constructor name
    expect(() => rt.multiHeadAttention({ embed_dim: H, numHeads: 2, weights })).toThrow(/config\.embed_dim is not an option of multiHeadAttention; did you mean embedDim\?/);
    // a state_dict entry we do not have (add_bias_kv): state_dicts are records (a whole model with a prefix is one), so this is a run-time check
    expect(() => rt.multiHeadAttention({ embedDim: H, numHeads: 2, weights: { ...weights, bias_k: tensor([1, 1, H], 5) } })).toThrow(/^multiHeadAttention: the weights do not match its state_dict: unexpected bias_k$/);
    const mha = rt.multiHeadAttention({ embedDim: H, numHeads: 2, weights });
    const x = tensor([1, 3, H], 9);
    // @ts-expect-error
    expect(() => mha.forward(x, { is_causal: true })).toThrow(/options\.is_causal is not an option of forward; did you mean causal\?/);
    // @ts-expect-error
    expect(() => mha.forward(x, undefined, undefined, { need_weights: true })).toThrow(/did you mean needWeights\?/);
    // @ts-expect-error PyTorch's name
    expect(() => mha.forward(x, { attn_mask: tensor([3, 3], 1) })).toThrow(/options\.attn_mask is not an option of forward; did you mean attnMask\?/);
    // @ts-expect-error createCache has no such option
    expect(() => mha.createCache({ batch: 1, sliding_window: 4 })).toThrow(/options\.sliding_window is not an option of createCache; did you mean window\?/);
    // @ts-expect-error
    expect(() => mha.createCache({ batch: 1, max_length: 4 })).toThrow(/options\.max_length is not an option of createCache; did you mean maxLength\?/);
    // forward(x, options) is self-attention with options, the same as forward(x, undefined, undefined, options)
    const short = mha.forward(x, { causal: true, needWeights: true });
    const long = mha.forward(x, undefined, undefined, { causal: true, needWeights: true });
    expect([...short.output]).toEqual([...long.output]);
    expect([...short.weights]).toEqual([...long.weights]);
    mha.dispose();
  });
});

describe('state_dict names', () => {
  it('are reported together, unknown and missing, as load_state_dict(strict=True) does', async () => {
    const rt = await runtimeFor('simd');
    const H = 4;
    const w = { in_proj_weight: tensor([3 * H, H], 1), 'out_proj.weight': tensor([H, H], 3), out_proj_bias: tensor([H], 4) };
    expect(() => rt.multiHeadAttention({ embedDim: H, numHeads: 2, weights: w as never }))
      .toThrow(/^multiHeadAttention: the weights do not match its state_dict: missing in_proj_bias, out_proj\.bias; unexpected out_proj_bias \(did you mean out_proj\.bias\?\)$/);
    expect(() => rt.bahdanauAttention({ 'Wa.weight': tensor([H, H], 1), 'Wa.bias': tensor([H], 2), 'Ua.weight': tensor([H, H], 3), 'Ua.bias': tensor([H], 4) } as never))
      .toThrow(/^bahdanauAttention: the weights do not match its state_dict: missing Va\.weight, Va\.bias$/);
  });
});
