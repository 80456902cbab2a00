/**
 * Rotary frequencies as Hugging Face's modeling_rope_utils.py computes them from config.json:
 *   default: θ_i = base^(−2i/d), d = head_dim · partial_rotary_factor
 *   linear:  θ_i / factor
 *   llama3:  wavelength λ_i = 2π/θ_i; λ > L/low → θ/factor; λ < L/high → θ; between, the blend
 *            (1 − s)·θ/factor + s·θ with s = (L/λ − low)/(high − low), L = original_max_position_embeddings
 * Any other rope_type changes the computation in ways not implemented here: an error naming it.
 */
import { describe } from '../../engine/validate.js';
import { ropeFrequencies } from '../../ops/position.js';

export function ropeInvFreq(place: string, dim: number, base: number, scaling: unknown): Float64Array {
  const f = ropeFrequencies(dim, base);
  if (scaling === undefined || scaling === null) return f;
  if (typeof scaling !== 'object') throw new Error(`${place}: rope_scaling must be an object or null, found ${describe(scaling)}`);
  const s = scaling as Record<string, unknown>;
  const type = s['rope_type'] ?? s['type'] ?? 'default';
  const num = (k: string): number => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${place}: rope_scaling.${k} must be a number, found ${describe(v)}`);
    return v;
  };
  if (type === 'default') return f;
  if (type === 'linear') {
    const factor = num('factor');
    return f.map((x) => x / factor);
  }
  if (type === 'llama3') {
    const factor = num('factor'), low = num('low_freq_factor'), high = num('high_freq_factor'), old = num('original_max_position_embeddings');
    const lowWavelen = old / low, highWavelen = old / high;
    return f.map((theta) => {
      const wavelen = (2 * Math.PI) / theta;
      if (wavelen > lowWavelen) return theta / factor;
      if (wavelen < highWavelen) return theta;
      const smooth = (old / wavelen - low) / (high - low);
      return (1 - smooth) * (theta / factor) + smooth * theta;
    });
  }
  throw new Error(`${place}: rope_scaling type ${describe(type)} is not supported (supported: "default", "linear", "llama3")`);
}
