/**
 * A real EvalResult for the report tests: two bundled members (sst2-sibling-a and sst2-stranger-b,
 * which has its own tokenizer and the reversed label order) run on the first rows of SST-2 dev,
 * every registered fusion method but concat (seconds of fitting per fold, and nothing new for a
 * chart) scored out-of-fold by the library's `evaluate`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeCombined } from '../../src/artifact/write.js';
import { evaluate, evalInputFrom, type Evaluation } from '../../src/eval/evaluate.js';
import { chooseMethods } from '../../src/eval/methods.js';
import { prepare, type Prepared } from '../../src/eval/prepare.js';
import { summarise } from '../../src/eval/result.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { bundledData, bundledFixture } from '../../src/paths.js';

export const MEMBERS = ['sst2-sibling-a', 'sst2-stranger-b'];
export const FOLDS = 5;

export interface RealEval {
  readonly dir: string;
  readonly prepared: Prepared;
  readonly evaluation: Evaluation;
  /** Writes a combined folder exporting `method`, with the summary metrics in its manifest. */
  combined(out: string, method: string): Promise<void>;
  close(): void;
}

export async function realEval(rows: number): Promise<RealEval> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-report-'));
  const lines = fs.readFileSync(bundledData('sst2_dev.tsv'), 'utf8').split('\n');
  const data = path.join(dir, 'sst2_dev_head.tsv');
  fs.writeFileSync(data, lines.slice(0, rows + 1).join('\n') + '\n');
  const prepared = await prepare({ members: MEMBERS.map((m) => ({ path: bundledFixture(m) })), data: { path: data }, labels: ['negative', 'positive'] }); // SST-2's integer labels: 0 = negative
  const methods = chooseMethods(FUSION_METHODS.filter((m) => m.name !== 'concat'), 'all', {});
  const evaluation = evaluate(evalInputFrom(prepared), methods, { folds: FOLDS, seed: 0 });
  return {
    dir,
    prepared,
    evaluation,
    async combined(out, method) {
      const choice = methods.find((m) => m.method.name === method)!;
      await writeCombined(out, { set: prepared.set, method: choice.method, options: choice.options, params: evaluation.params.get(method)!, metrics: summarise(evaluation.result) });
    },
    close() {
      prepared.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
