// The public norms and activations (rt.layerNorm, rt.rmsNorm, rt.activation, rt.gelu) on every
// build against their float64 twins (reference.*): values, NaN and infinities, option and shape errors.
// PyTorch's own F.layer_norm and F.gelu are compared in test/pytorch.test.ts (norms.json).
import { describe, expect, it } from 'vitest';
import { reference, Tensor } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor, tensor } from './helpers.js';

const KINDS = ['relu', 'gelu', 'geluTanh', 'silu', 'tanh'] as const;

describe.each(BUILDS)('norms and activations on the %s build', (backend) => {
  it('layerNorm: affine or not, eps, residual, every row length past the vector width, against the twin', async () => {
    const rt = await runtimeFor(backend);
    for (const n of [1, 3, 4, 7, 8, 9, 16, 33, 64]) {
      const x = tensor([3, 5, n], n, -2, 3);
      const residual = tensor([3, 5, n], n + 100);
      const weight = tensor([n], n + 200, -1, 2);
      const bias = tensor([n], n + 300);
      const cases = [{}, { weight }, { weight, bias }, { bias, eps: 1e-3 }, { weight, bias, residual }, { residual, eps: 0.5 }];
      for (const options of cases) {
        const err = maxAbsDiff(rt.layerNorm(x, options), reference.layerNorm(x, options));
        expect(err, `n=${n} ${Object.keys(options).join(', ')}`).toBeLessThanOrEqual(1e-5);
      }
    }
  });

  it('rmsNorm: with and without weight, eps, against the twin', async () => {
    const rt = await runtimeFor(backend);
    for (const n of [1, 5, 8, 13, 64, 100]) {
      const x = tensor([4, n], n, -2, 2);
      const weight = tensor([n], n + 1, 0, 2);
      for (const options of [{}, { weight }, { weight, eps: 1e-5 }, { eps: 0.25 }]) {
        expect(maxAbsDiff(rt.rmsNorm(x, options), reference.rmsNorm(x, options)), `n=${n} ${JSON.stringify(Object.keys(options))}`).toBeLessThanOrEqual(1e-5);
      }
    }
  });

  it('activations: relu, gelu, geluTanh, silu, tanh over [−8, 8] and odd lengths, and gelu({ approximate })', async () => {
    const rt = await runtimeFor(backend);
    for (const size of [1, 3, 4, 5, 31, 1000]) {
      const x = tensor([size], size, -8, 8);
      for (const kind of KINDS) {
        expect(maxAbsDiff(rt.activation(x, kind), reference.activation(x, kind)), `${kind} size ${size}`).toBeLessThanOrEqual(1e-5);
      }
      expect(maxAbsDiff(rt.gelu(x), reference.activation(x, 'gelu'))).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(rt.gelu(x, { approximate: 'tanh' }), reference.gelu(x, { approximate: 'tanh' }))).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(rt.gelu(x, { approximate: 'none' }), reference.gelu(x))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('NaN in → NaN out (a norm makes its row NaN, other rows untouched); infinities go to the limits', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([3, 8], 7);
    x.data[8 + 2] = NaN;
    for (const norm of [rt.layerNorm(x), rt.rmsNorm(x)]) {
      expect(Array.from(norm.subarray(8, 16)).every(Number.isNaN)).toBe(true);
      expect(Array.from(norm.subarray(0, 8)).concat(Array.from(norm.subarray(16))).every(Number.isFinite)).toBe(true);
    }
    const special = { data: Float32Array.from([NaN, Infinity, -Infinity, 0, -0.5]), shape: [5] };
    for (const kind of KINDS) {
      const got = Array.from(rt.activation(special, kind));
      const want = Array.from(reference.activation(special, kind));
      expect(Number.isNaN(got[0]), `${kind}(NaN)`).toBe(true);
      expect(got.slice(1).map((v, i) => Math.abs(v - want[i + 1]!) <= 1e-6 || v === want[i + 1]), `${kind}(±Infinity, 0, −0.5): ${got} vs ${want}`).toEqual([true, true, true, true]);
    }
  });

  it('resident: true returns a resident tensor, and a resident input works', async () => {
    const rt = await runtimeFor(backend);
    const x = tensor([2, 6], 3);
    rt.scope(() => {
      const t = rt.tensor(x.data, x.shape);
      const y = rt.layerNorm(t, { resident: true });
      expect(y).toBeInstanceOf(Tensor);
      expect(y.shape).toEqual([2, 6]);
      expect(maxAbsDiff(rt.gelu(y), reference.gelu({ data: y.toArray(), shape: [2, 6] }))).toBeLessThanOrEqual(1e-5);
      expect(rt.activation(t, 'silu', { resident: true })).toBeInstanceOf(Tensor);
      expect(rt.rmsNorm(t, { resident: true })).toBeInstanceOf(Tensor);
      expect(Array.from(t.data)).toEqual(Array.from(x.data)); // the input is left as it was
    });
  });
});

describe('norm and activation errors name the argument, what was expected and what was received', () => {
  for (const [name, make] of [['runtime', () => runtimeFor('simd')], ['reference', async () => reference]] as const) {
    it(name, async () => {
      const lib = await make();
      const x = tensor([2, 6], 1);
      const before = name === 'runtime' ? (lib as Awaited<ReturnType<typeof runtimeFor>>).memoryStats().bytesInUse : 0;
      expect(() => lib.layerNorm(x, { weight: tensor([5], 2) })).toThrow(new RangeError('options.weight: expected shape [6] (the last dimension of x), received [5]'));
      expect(() => lib.layerNorm(x, { bias: tensor([6, 1], 2) })).toThrow(new RangeError('options.bias: expected shape [6] (the last dimension of x), received [6, 1]'));
      expect(() => lib.layerNorm(x, { residual: tensor([1, 6], 2) })).toThrow(new RangeError('options.residual: expected shape [2, 6] (that of x), received [1, 6]'));
      expect(() => lib.layerNorm(x, { eps: -1 })).toThrow(new RangeError('options.eps must be ≥ 0, received -1'));
      expect(() => lib.rmsNorm(x, { eps: Number.NaN })).toThrow(new TypeError('options.eps must be a finite number, received NaN'));
      // @ts-expect-error an unknown option does not compile
      expect(() => lib.layerNorm(x, { normalizedShape: [6] })).toThrow(/^options\.normalizedShape is not an option of layerNorm/);
      // @ts-expect-error rmsNorm has no bias
      expect(() => lib.rmsNorm(x, { bias: tensor([6], 2) })).toThrow(/^options\.bias is not an option of rmsNorm/);
      // @ts-expect-error an unknown kind does not compile
      expect(() => lib.activation(x, 'swish')).toThrow(new TypeError("kind must be one of 'relu', 'gelu', 'geluTanh', 'silu', 'tanh', received \"swish\""));
      // @ts-expect-error approximate is 'none' or 'tanh'
      expect(() => lib.gelu(x, { approximate: true })).toThrow(new TypeError("options.approximate must be 'none' or 'tanh', received true"));
      // @ts-expect-error an unknown option does not compile
      expect(() => lib.gelu(x, { inplace: true })).toThrow(/^options\.inplace is not an option of gelu/);
      expect(() => lib.activation({ data: new Float32Array(3), shape: [4] }, 'relu')).toThrow(RangeError);
      if (name === 'runtime') expect((lib as Awaited<ReturnType<typeof runtimeFor>>).memoryStats().bytesInUse).toBe(before);
    });
  }
});
