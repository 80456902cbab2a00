// Canvas heatmaps of attention weights, and an SVG bar chart: no dependencies.

const STOPS = [
  [247, 251, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];

/** Weight in [0, 1] → CSS colour (light to dark blue). */
export function colour(w) {
  const x = Math.min(1, Math.max(0, w)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return `rgb(${a.map((c, k) => Math.round(c + (b[k] - c) * f)).join(',')})`;
}
export const MASKED = 'rgb(226,226,226)';

/**
 * Draws weights [rows, cols] (row-major, from `offset`) on `canvas` with row labels on the left
 * and column labels on top; `masked(i, j)` cells are hatched grey. Returns a lookup from a mouse
 * position to { i, j } for tooltips.
 */
export function drawHeatmap(canvas, weights, { rows, cols, rowLabels, colLabels, offset = 0, cell = 26, masked = () => false }) {
  const ctx = canvas.getContext('2d');
  const font = '12px system-ui, sans-serif';
  ctx.font = font;
  const left = Math.ceil(Math.max(...rowLabels.map((t) => ctx.measureText(t).width))) + 8;
  const top = Math.ceil(Math.max(...colLabels.map((t) => ctx.measureText(t).width)) * Math.SQRT1_2) + 14;
  // The last column's label, drawn at 45°, reaches past the grid's right edge: leave it room.
  const width = left + cols * cell + Math.max(12, Math.ceil(ctx.measureText(colLabels[cols - 1] ?? '').width * Math.SQRT1_2 - cell / 2) + 4);
  const height = top + rows * cell + 2;
  const dpr = globalThis.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = font;
  ctx.fillStyle = '#333';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  rowLabels.forEach((t, i) => ctx.fillText(t, left - 6, top + (i + 0.5) * cell));
  ctx.textAlign = 'left';
  colLabels.forEach((t, j) => {
    ctx.save();
    ctx.translate(left + (j + 0.5) * cell, top - 6);
    ctx.rotate(-Math.PI / 4);
    ctx.fillText(t, 0, 0);
    ctx.restore();
  });
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const x = left + j * cell;
      const y = top + i * cell;
      if (masked(i, j)) {
        ctx.fillStyle = MASKED;
        ctx.fillRect(x, y, cell, cell);
        ctx.strokeStyle = 'rgb(190,190,190)';
        ctx.lineWidth = 1;
        ctx.beginPath();
        for (let d = 6; d < 2 * cell; d += 6) {
          ctx.moveTo(x + Math.max(0, d - cell), y + Math.min(d, cell));
          ctx.lineTo(x + Math.min(d, cell), y + Math.max(0, d - cell));
        }
        ctx.stroke();
      } else {
        ctx.fillStyle = colour(weights[offset + i * cols + j]);
        ctx.fillRect(x, y, cell, cell);
      }
    }
  }
  canvas.dataset.grid = JSON.stringify({ left, top, cell, rows, cols, dpr });
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, cols * cell - 1, rows * cell - 1);
  return (px, py) => {
    const j = Math.floor((px - left) / cell);
    const i = Math.floor((py - top) / cell);
    return i >= 0 && i < rows && j >= 0 && j < cols ? { i, j } : null;
  };
}

const SVG = 'http://www.w3.org/2000/svg';
function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Horizontal grouped bars: groups [{ title, bars: [{ label, value, text, colour }] }], bar length
 * ∝ value (shared scale across groups).
 */
export function drawBars(svg, groups, { unit = '' } = {}) {
  svg.replaceChildren();
  const labelW = 150;
  const barW = 420;
  const textW = 270;
  const barH = 18;
  const max = Math.max(1e-9, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  let y = 4;
  for (const g of groups) {
    svg.append(el('text', { x: 0, y: y + 13, class: 'group' }, g.title));
    y += 20;
    for (const b of g.bars) {
      svg.append(el('text', { x: labelW - 8, y: y + 13, 'text-anchor': 'end', class: 'label' }, b.label));
      const w = Math.max(1, (b.value / max) * barW);
      svg.append(el('rect', { x: labelW, y, width: w, height: barH, fill: b.colour, rx: 2 }));
      svg.append(el('text', { x: labelW + w + 6, y: y + 13, class: 'value' }, b.text));
      y += barH + 4;
    }
    y += 10;
  }
  const width = labelW + barW + textW;
  svg.setAttribute('viewBox', `0 0 ${width} ${y}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(y));
  if (unit) svg.setAttribute('aria-label', `bar chart (${unit})`);
}

/** A weight as text: 3 decimals, or 3 significant digits below 1e-3. */
export const formatWeight = (x) => (Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : x.toFixed(3));

/** A token as an axis label: spaces, line breaks and control characters made visible. */
export const tokenLabel = (t) => t.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/[\u0000-\u001f\u007f]/g, '·') || '∅';

/**
 * One head's self-attention over `tokens` (weights [heads, L, L], row = query) on `canvas`, with
 * `hover` telling the weight under the pointer; `causal` greys out the keys after each query.
 */
export function drawTokenAttention(canvas, hover, weights, tokens, head, { causal = false } = {}) {
  const L = tokens.length;
  const labels = tokens.map(tokenLabel);
  const masked = causal ? (i, j) => j > i : () => false;
  const locate = drawHeatmap(canvas, weights, { rows: L, cols: L, rowLabels: labels, colLabels: labels, offset: head * L * L, cell: L > 24 ? 16 : 20, masked });
  canvas.dataset.tokens = JSON.stringify(tokens);
  canvas.onmousemove = (e) => {
    const at = locate(e.offsetX, e.offsetY);
    hover.textContent = at && !masked(at.i, at.j) ? `"${tokens[at.i]}" (${at.i}) → "${tokens[at.j]}" (${at.j}): weight ${formatWeight(weights[(head * L + at.i) * L + at.j])}` : '\u00a0';
  };
}
