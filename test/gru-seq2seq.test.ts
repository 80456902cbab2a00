/**
 * The PyTorch seq2seq tutorial's EncoderRNN + AttnDecoderRNN: greedy decodes against PyTorch
 * (test/fixtures/gru-seq2seq.json from tools/gru_fixtures.py: tokens equal, log-probs and attention
 * within 1e-5) and against the twin, on every build; a batch (arrays or padded + lengths) equal bit
 * for bit to single decodes; beam search (beamSize 1 = greedy, wider scores ≥ greedy, the twin's
 * hypotheses); attnDecoderRNN bind/step; errors; dispose.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { BUILDS, maxAbsDiff, runtimeFor } from './helpers.js';

interface Stored { shape: number[]; data: number[] }
const T = (s: Stored) => ({ data: Float32Array.from(s.data), shape: s.shape });
const W = (r: Record<string, Stored>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, T(v)]));
const { seq2seq: f } = JSON.parse(readFileSync(new URL('./fixtures/gru-seq2seq.json', import.meta.url), 'utf8')) as {
  seq2seq: {
    hiddenSize: number; outputVocab: number; sos: number; eos: number; maxLength: number;
    encoder: Record<string, Stored>; decoder: Record<string, Stored>;
    decodes: { ids: number[]; tokens: number[]; logProbs: Stored; attentions: Stored; encoderHidden: Stored }[];
  };
};
const config = { encoder: W(f.encoder), decoder: W(f.decoder), sos: f.sos, eos: f.eos };
const sum = (xs: Float32Array, tokens: number[], V: number) => tokens.reduce((a, t, i) => a + xs[i * V + t]!, 0);
const bits = (x: Float32Array) => [...new Uint32Array(x.buffer, x.byteOffset, x.length)];
const V = f.outputVocab;

describe.each(BUILDS)('gruSeq2seq on the %s build', (backend) => {
  it("greedy decodes match the tutorial's model in PyTorch (tokens equal, log-probs and attention within 1e-5) and the twin", async () => {
    const rt = await runtimeFor(backend);
    const model = rt.gruSeq2seq(config);
    const twin = reference.gruSeq2seq(config);
    expect(f.decodes.some((d) => d.tokens.at(-1) === f.eos) && f.decodes.some((d) => d.tokens.at(-1) !== f.eos)).toBe(true);
    for (const d of f.decodes) {
      const got = model.greedyDecode(d.ids, { maxLength: f.maxLength });
      expect(got.tokens).toEqual(d.tokens);
      expect(maxAbsDiff(got.logProbs, d.logProbs.data), `log-probs of ${d.ids}`).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(got.attentions, d.attentions.data), `attention of ${d.ids}`).toBeLessThanOrEqual(1e-5);
      const want = twin.greedyDecode(d.ids, { maxLength: f.maxLength });
      expect(got.tokens).toEqual(want.tokens);
      expect(maxAbsDiff(got.logProbs, want.logProbs)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(got.attentions, want.attentions)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(want.logProbs, d.logProbs.data), 'twin vs PyTorch').toBeLessThanOrEqual(1e-5);
    }
    model.dispose();
  });

  it('a batch of different lengths decodes in one call, each sentence bit for bit as alone (arrays, padded + lengths)', async () => {
    const rt = await runtimeFor(backend);
    const model = rt.gruSeq2seq(config);
    const ids = f.decodes.map((d) => d.ids);
    const alone = ids.map((s) => model.greedyDecode(s, { maxLength: f.maxLength }));
    const S = Math.max(...ids.map((s) => s.length));
    const padded = { data: Int32Array.from(ids.flatMap((s) => [...s, ...new Array(S - s.length).fill(2)])), shape: [ids.length, S] };
    // 20 sentences: more rows than the gemm's few-rows path takes at once
    const many = Array.from({ length: 20 }, (_, i) => ids[i % ids.length]!);
    for (const [what, batch, expected] of [
      ['arrays', model.greedyDecode(ids, { maxLength: f.maxLength }), alone],
      ['padded', model.greedyDecode(padded, { maxLength: f.maxLength, lengths: ids.map((s) => s.length) }), alone],
      ['20 sentences', model.greedyDecode(many, { maxLength: f.maxLength }), many.map((_, i) => alone[i % ids.length]!)],
    ] as const) {
      expect(batch.length, what).toBe(expected.length);
      batch.forEach((r, i) => {
        expect(r.tokens, `${what} ${i}`).toEqual(expected[i]!.tokens);
        expect(bits(r.logProbs), `${what} ${i} log-probs`).toEqual(bits(expected[i]!.logProbs));
        expect(bits(r.attentions), `${what} ${i} attention`).toEqual(bits(expected[i]!.attentions));
      });
    }
    model.dispose();
  });

  it('beam search: beamSize 1 is greedy; wider beams score ≥ greedy, sorted, as the twin finds', async () => {
    const rt = await runtimeFor(backend);
    const model = rt.gruSeq2seq(config);
    const twin = reference.gruSeq2seq(config);
    for (const d of f.decodes) {
      const greedy = model.greedyDecode(d.ids, { maxLength: f.maxLength });
      const [one] = model.beamSearch(d.ids, { beamSize: 1, maxLength: f.maxLength });
      expect(one!.tokens).toEqual(greedy.tokens);
      expect(bits(one!.attentions)).toEqual(bits(greedy.attentions));
      // each token's log-probability: the greedy step's value at that token; their sum is the score
      expect(one!.tokenLogProbs).toEqual(greedy.tokens.map((tok, t) => greedy.logProbs[t * V + tok]!));
      expect(Math.abs(one!.tokenLogProbs.reduce((a, b) => a + b, 0) - one!.score)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(one!.score - sum(greedy.logProbs, greedy.tokens, V))).toBeLessThanOrEqual(1e-9);
      for (const beamSize of [3, 5]) {
        const beams = model.beamSearch(d.ids, { beamSize, maxLength: f.maxLength });
        expect(beams.length).toBe(beamSize);
        expect(beams[0]!.score).toBeGreaterThanOrEqual(one!.score - 1e-6);
        for (let i = 1; i < beams.length; i++) expect(beams[i]!.score).toBeLessThanOrEqual(beams[i - 1]!.score);
        for (const b of beams) {
          expect(b.attentions.length).toBe(b.tokens.length * d.ids.length);
          expect(b.tokens.indexOf(f.eos) === -1 || b.tokens.indexOf(f.eos) === b.tokens.length - 1).toBe(true);
        }
        const want = twin.beamSearch(d.ids, { beamSize, maxLength: f.maxLength });
        expect(beams.map((b) => b.tokens)).toEqual(want.map((b) => b.tokens));
        beams.forEach((b, i) => expect(Math.abs(b.score - want[i]!.score)).toBeLessThanOrEqual(1e-4));
      }
      const penalised = model.beamSearch(d.ids, { beamSize: 4, maxLength: f.maxLength, lengthPenalty: 1 });
      const rank = penalised.map((b) => b.score / b.tokens.length);
      for (let i = 1; i < rank.length; i++) expect(rank[i]!).toBeLessThanOrEqual(rank[i - 1]!);
    }
    model.dispose();
  });

  it('attnDecoderRNN: bind(encoder outputs).step(token, hidden) gives the steps of the decode; one state_dict with prefixes', async () => {
    const rt = await runtimeFor(backend);
    const joint = { ...Object.fromEntries(Object.entries(config.encoder).map(([k, v]) => [`encoder.${k}`, v])), ...Object.fromEntries(Object.entries(config.decoder).map(([k, v]) => [`decoder.${k}`, v])) };
    const model = rt.gruSeq2seq({ weights: joint, sos: f.sos, eos: f.eos });
    const d = f.decodes[1]!;
    expect(model.greedyDecode(d.ids, { maxLength: f.maxLength }).tokens).toEqual(d.tokens);
    // the encoder half by hand: embedding + gru, then the decoder bound to its outputs
    const enc = rt.gru({ inputSize: f.hiddenSize, hiddenSize: f.hiddenSize, weights: joint, prefix: 'encoder.gru.' });
    const x = rt.embedding(joint, { prefix: 'encoder.embedding.' }).lookup(d.ids);
    const { output, hidden } = enc.forward({ data: x, shape: [1, d.ids.length, f.hiddenSize] });
    expect(maxAbsDiff(hidden, d.encoderHidden.data)).toBeLessThanOrEqual(1e-5);
    const decoder = rt.attnDecoderRNN(joint, { prefix: 'decoder.' });
    expect([decoder.hiddenSize, decoder.vocabSize]).toEqual([f.hiddenSize, V]);
    const bound = decoder.bind({ data: output, shape: [1, d.ids.length, f.hiddenSize] });
    const twin = reference.attnDecoderRNN(joint, { prefix: 'decoder.' }).bind({ data: output, shape: [1, d.ids.length, f.hiddenSize] });
    let h = { data: hidden, shape: [1, f.hiddenSize] };
    let token = f.sos;
    d.tokens.forEach((want, t) => {
      const r = bound.step(token, h);
      expect(maxAbsDiff(r.logProbs, d.logProbs.data.slice(t * V, (t + 1) * V)), `step ${t}`).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(r.attention, d.attentions.data.slice(t * d.ids.length, (t + 1) * d.ids.length))).toBeLessThanOrEqual(1e-5);
      const w = twin.step(token, h);
      expect(maxAbsDiff(r.hidden, w.hidden)).toBeLessThanOrEqual(1e-5);
      token = want;
      h = { data: r.hidden, shape: [1, f.hiddenSize] };
    });
    // beams of one source: B tokens over a decoder bound to one sentence
    const two = bound.step([f.sos, 3], { data: new Float32Array(2 * f.hiddenSize), shape: [2, f.hiddenSize] });
    expect(two.logProbs.length).toBe(2 * V);
    bound.dispose();
    expect(() => bound.step(0, h)).toThrow(/this bound decoder was disposed/);
    for (const m of [decoder, enc, model]) m.dispose();
  });

  it('rejects bad ids, options, state_dicts; the runtime stays usable; dispose frees', async () => {
    const rt = await runtimeFor(backend);
    const before = rt.memoryStats().bytesInUse;
    const { 'out.bias': _, ...noBias } = config.decoder;
    expect(() => rt.gruSeq2seq({ ...config, decoder: noBias })).toThrow(/^attnDecoderRNN: weights\['out.bias'\] is missing/);
    expect(() => rt.gruSeq2seq({ ...config, decoder: { ...config.decoder, 'attention.Wb.weight': config.decoder['attention.Wa.weight']! } })).toThrow(/^attnDecoderRNN: the weights do not match its state_dict: unexpected attention\.Wb\.weight \(did you mean attention\.Wa\.weight\?\)$/);
    expect(() => rt.gruSeq2seq({ ...config, eos: V })).toThrow(RangeError);
    expect(() => rt.attnDecoderRNN(config.decoder, { prefx: 'decoder.' } as never)).toThrow(/options\.prefx is not an option of attnDecoderRNN; did you mean prefix\?/);
    expect(rt.memoryStats().bytesInUse).toBe(before);
    const model = rt.gruSeq2seq(config);
    expect(() => model.greedyDecode([3, 12, 1], { maxLength: 5 })).toThrow(new RangeError('ids[1] = 12 is out of range for a vocabulary of 12 (expected an integer in [0, 11])'));
    expect(() => reference.gruSeq2seq(config).greedyDecode([3, 12, 1], { maxLength: 5 })).toThrow(new RangeError('ids[1] = 12 is out of range for a vocabulary of 12 (expected an integer in [0, 11])'));
    expect(() => model.greedyDecode([[3], [4, 99]], { maxLength: 5 })).toThrow(/^ids\[1\]\[1\] = 99|^ids\[1\]\[1\]|ids\[1\]/);
    expect(() => model.greedyDecode([3], { maxLenght: 5 } as never)).toThrow(/options\.maxLenght is not an option of greedyDecode; did you mean maxLength\?/);
    expect(() => model.beamSearch([3], { beamSize: 0, maxLength: 5 })).toThrow(/^options\.beamSize must be an integer in \[1, ∞\]/);
    expect(() => model.greedyDecode({ data: [1, 2, 3, 4], shape: [2, 2] }, { maxLength: 3, lengths: [2, 3] })).toThrow(/^options\.lengths\[1\] must be an integer in \[0, 2\]/);
    expect(() => model.greedyDecode([], { maxLength: 3 })).toThrow(/needs at least one token/);
    expect(model.greedyDecode(f.decodes[0]!.ids, { maxLength: f.maxLength }).tokens).toEqual(f.decodes[0]!.tokens);
    model.dispose();
    expect(() => model.greedyDecode([1], { maxLength: 2 })).toThrow(/^gruSeq2seq: this model was disposed$/);
    expect(rt.memoryStats().bytesInUse).toBe(before);
  });
});
