import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { combine } from '../../artifact/combine.js';
import { evalSummary, evalTable, membersSummary } from '../../eval/format.js';
import { FUSION_METHODS } from '../../fusion/registry.js';
import { bundledData, bundledFixture } from '../../paths.js';
import { withCombineDefaults } from '../../recipe/combine.js';
import { loadClassifier, memberRan } from '../../runtime/classifier.js';
import { printJson, printLine, SKIPPED, skippedLegend } from '../output.js';
import { renderTable } from '../../util/table.js';
import { argmaxRow } from '../../util/math.js';
import { fusionProgress } from './combine.js';
import { merge } from '../../merge/merge.js';
import { parseMergeRecipe } from '../../recipe/merge.js';

const SENTENCES = [
  'a gorgeous , witty , seductive movie .',
  'one long string of cliches .',
  'the acting is fine but the script is a mess .',
  'an unexpectedly moving and funny film .',
];

// Two bundled members that disagree in every way that matters: different tokenizers (A, B) and
// reversed label order (stranger-b's index 0 is "positive").
const MEMBERS = ['sst2-sibling-a', 'sst2-stranger-b'];
// sst2_dev.tsv labels rows 0/1; since the members disagree on index order, say what 0 and 1 mean.
const LABELS = ['negative', 'positive'];

// The other answer, one encoder at 1x cost: weight merges of bundled pairs that allow one.
const MERGES = [
  { pair: ['sst2-sibling-a', 'sst2-sibling-b'], what: 'fine-tuned from one parent', method: 'linear', align: 'none' },
  { pair: ['sst2-stranger-a', 'sst2-stranger-d'], what: 'different random starts', method: 'linear', align: 'none' },
  { pair: ['sst2-stranger-a', 'sst2-stranger-d'], what: 'different random starts', method: 'linear', align: 'weights' },
] as const;

interface MergeDemoRow {
  readonly pair: string;
  readonly what: string;
  readonly merge: string;
  readonly members: readonly number[];
  readonly ensemble: number;
  readonly merged: number;
  readonly out: string;
}

/** Merges each pair into a temp folder and scores members, their ensemble and the merge on the data. */
async function mergeDemo(data: string, root: string, step: (label: string) => void): Promise<MergeDemoRow[]> {
  const rows: MergeDemoRow[] = [];
  for (const [i, m] of MERGES.entries()) {
    step(`merge ${m.pair.join(' + ')} (${m.method}${m.align === 'none' ? '' : `, align ${m.align}`})`);
    const out = path.join(root, `merged-${i}-${m.method}${m.align === 'none' ? '' : '-align'}`);
    const recipe = parseMergeRecipe({ merge_method: m.method, models: m.pair.map((p) => ({ model: bundledFixture(p) })), align: m.align, onnx: false });
    const r = await merge(recipe, { out, evaluate: [{ file: data, labelNames: LABELS }] });
    const acc = (kind: string): number[] => r.evaluation.filter((e) => e.kind === kind).map((e) => e.accuracy);
    rows.push({ pair: m.pair.join(' + '), what: m.what, merge: m.method + (m.align === 'none' ? '' : ` + align ${m.align}`), members: acc('member'), ensemble: acc('ensemble')[0]!, merged: acc('merged')[0]!, out });
  }
  return rows;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('bundled models + bundled data: every fusion method side by side, one combined model, a prediction from it, and weight merges')
    .option('-o, --out <folder>', 'where to write the combined model (default: a new temp folder)')
    .option('--json', 'print JSON (the eval result, the folder, the predictions)')
    .option('-q, --quiet', 'no progress bars')
    .action(async (f: { out?: string; json?: boolean; quiet?: boolean }) => {
      const out = f.out ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-demo-')), 'combined');
      const data = bundledData('sst2_dev.tsv');
      const members = MEMBERS.map((m) => bundledFixture(m));
      if (!f.json) {
        printLine(`bertfuse demo: fuse ${MEMBERS.join(' + ')} (different tokenizers, reversed label order)`);
        printLine(`on ${data}; every method, scored out-of-fold; the best exported as ONE model.onnx\n`);
      }
      const progress = fusionProgress(Boolean(f.quiet || f.json));
      const outcome = await combine(
        withCombineDefaults({ members: members.map((p) => ({ path: p })), data: { path: data }, labels: LABELS, out }),
        { registry: FUSION_METHODS, onMemberProgress: progress.members, onFitProgress: progress.fits, onStep: progress.step, saveEval: true },
      ).catch((e: unknown) => {
        progress.stop();
        throw e;
      });
      progress.step(`loading ${outcome.out}`);
      const model = await loadClassifier(outcome.out).catch((e: unknown) => {
        progress.stop();
        throw e;
      });
      try {
        const inputs = SENTENCES.map((text) => ({ text }));
        const detail = model.predictDetailed ? await model.predictDetailed(inputs) : { fused: await model.predictProba(inputs), members: {} };
        const k = model.labels.length;
        const predictions = SENTENCES.map((text, i) => ({
          text,
          label: model.labels[argmaxRow(detail.fused, i, k)]!,
          fused: Object.fromEntries(model.labels.map((l, j) => [l, detail.fused[i * k + j]!])),
          // null: a member the cascade did not run on this row (its graph output there is a placeholder).
          members: Object.fromEntries(Object.entries(detail.members).map(([name, p]) => [name, memberRan(detail, name, i) ? Object.fromEntries(model.labels.map((l, j) => [l, p[i * k + j]!])) : null])),
        }));
        const merges = await mergeDemo(data, path.dirname(outcome.out), progress.step);
        progress.stop();
        if (f.json) return printJson({ out: outcome.out, exported: outcome.exported, result: outcome.result, predictions, merges });
        for (const line of membersSummary(outcome.result)) printLine(line);
        printLine();
        printLine(evalTable(outcome.result));
        printLine();
        for (const line of evalSummary(outcome.result)) printLine(line);
        printLine(`\nwrote ${outcome.out}: one model.onnx with both encoders and the ${outcome.exported} head`);
        printLine(`\npredictions from that folder (fused, and each member's p(positive) in the same graph):`);
        const memberNames = Object.keys(detail.members);
        const rows = predictions.map((p) => [p.label, p.fused['positive']!, ...memberNames.map((m) => p.members[m]?.['positive'] ?? SKIPPED), p.text]);
        printLine(renderTable(['label', 'p(positive)', ...memberNames, 'text'], rows, { right: [false, true, ...memberNames.map(() => true), false] }));
        const legend = skippedLegend(rows);
        if (legend) printLine(legend);
        const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
        printLine(`\nweight merging instead: ONE encoder (1x cost), scored on the same rows (the ensemble is the mean of the members' probabilities, 2x cost):`);
        printLine(renderTable(['members', 'relation', 'merge', 'member A', 'member B', 'ensemble', 'merged'], merges.map((r) => [r.pair, r.what, r.merge, pct(r.members[0]!), pct(r.members[1]!), pct(r.ensemble), pct(r.merged)]), { right: [false, false, false, true, true, true, true] }));
        printLine(`\ntry: bertfuse predict ${outcome.out} --text "your sentence"`);
        printLine(`     bertfuse report ${outcome.out} --out report.html   (this evaluation as one HTML page, from its eval.json)`);
        printLine(`     bertfuse predict ${merges[2]!.out} --text "your sentence"   (an aligned merge: a plain Hugging Face folder)`);
      } finally {
        progress.stop();
        await model.close();
      }
    });
}
