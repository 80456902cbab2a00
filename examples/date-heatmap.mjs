// The date normaliser after the worked example: one date per format → ISO, with a text heatmap of
// the alignment (rows: output characters, columns: input characters, shaded by attention weight).
import { loadDateNormalizer } from '../dist/index.js';

const SHADES = ' ░▒▓█';
const shade = (w) => SHADES[Math.min(SHADES.length - 1, Math.round(w * (SHADES.length - 1)))];

/** Lines of a heatmap: one row per output token, one column per input token (weights in [0, 1]). */
export function textHeatmap({ attention, inputTokens, outputTokens }) {
  const S = inputTokens.length;
  const label = (t) => (t === '<eos>' ? '⏎' : t);
  const lines = [`     ${inputTokens.map(label).join('')}`];
  outputTokens.forEach((t, r) => {
    let row = '';
    for (let s = 0; s < S; s++) row += shade(attention[r * S + s]);
    lines.push(`  ${label(t).padEnd(2)} ${row}`);
  });
  return lines;
}

export async function showDates(rt, texts = ['Sunday, November 22, 2026', '22.11.2026', '2026년 11월 22일']) {
  const dn = await loadDateNormalizer(rt);
  console.log(`\nThe date normaliser (a GRU seq2seq with Bahdanau attention, models/date-normalizer), ${rt.backend}:`);
  for (const text of texts) {
    const r = dn.normalize(text);
    console.log(`\n  ${JSON.stringify(text)} → ${r.output}`);
    for (const line of textHeatmap(r)) console.log(line);
  }
  dn.dispose();
}
