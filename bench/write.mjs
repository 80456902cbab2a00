// Writes a run's record: <out>/<date>-<machine>.json (<date>-<machine>-quick.json for --quick), the Markdown tables (.md) and the charts
// (-gflops.svg, -memory.svg, -threads.svg when threaded contenders ran). `node bench/write.mjs <record.json>` re-renders the Markdown and the
// charts from a recorded run (e.g. after the report's format changed).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { colours, gflopsChart, memoryChart, threadsChart } from './chart.mjs';
import { markdownTable, memoryTable, summarize, summaryMarkdown, summaryTable, variantMemoryTable } from './report.mjs';

/** → the paths written. */
export function writeOutputs(record, out, { json = true } = {}) {
  const { date, machine, node, workloads: results, memory, lengths, variantMemory, options } = record;
  // Records written before the summary existed: it is derived from the measurements, so derive it.
  const summary = record.summary ?? summarize(results, memory, lengths, variantMemory);
  // A quick run's files get their own name: they never replace a full run's of the same day.
  const stem = `${date.slice(0, 10)}-${record.machineName}${options?.quick ? '-quick' : ''}`;
  mkdirSync(out, { recursive: true });
  const subtitle = `${machine.cpu}, ${machine.cores} cores, Node ${node}, ${date.slice(0, 10)}${options?.quick ? ' (quick run)' : ''}`;
  const colour = colours(record.contenders.map((c) => c.id));
  const files = { json: join(out, `${stem}.json`), markdown: join(out, `${stem}.md`), gflops: join(out, `${stem}-gflops.svg`) };
  writeFileSync(files.gflops, gflopsChart(results.filter((r) => r.rows.length), { subtitle, colour }));
  if (summary.threads) {
    files.threads = join(out, `${stem}-threads.svg`);
    writeFileSync(files.threads, threadsChart(summary.threads, { subtitle }));
  }
  if (memory) {
    files.memory = join(out, `${stem}-memory.svg`);
    writeFileSync(files.memory, memoryChart(memory, lengths, { subtitle, colour }));
  }
  const md = [
    `Measured ${date.slice(0, 16).replace('T', ' ')} UTC on ${subtitle}.`,
    summaryMarkdown(summary),
    '**All workloads**: median time per call (GFLOP/s); a peer column shows the faster of its two graphs (MatMul graph, MHA op).',
    summaryTable(results),
    ...results.map((r) => (r.rows.length ? markdownTable(r) : `**${r.id}** ${r.title}: ${r.status}`)),
    ...(memory ? ['**Memory scaling** (single-head D 64 self-attention, one call per fresh process: time, Wasm memory, peak RSS)', memoryTable(memory, lengths, { markdown: true })] : []),
    ...(variantMemory ? [`**Memory of the variants at long N** (${variantMemory.label}, H 1, D 64, one call per fresh process)`, variantMemoryTable(variantMemory, { markdown: true })] : []),
  ].join('\n\n');
  writeFileSync(files.markdown, `${md}\n`);
  if (json) writeFileSync(files.json, `${JSON.stringify(record, null, 1)}\n`);
  else delete files.json;
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = resolve(process.argv[2] ?? '');
  const files = writeOutputs(JSON.parse(readFileSync(file, 'utf8')), dirname(file), { json: false });
  console.log(`Wrote ${Object.values(files).join(', ')}`);
}
