/** Good artifacts (an exported .onnx, a combined folder, small data) made once per test file, to corrupt or serve. */
import fs from 'node:fs';
import path from 'node:path';
import { combine } from '../../src/artifact/combine.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import type { CombineRecipe } from '../../src/recipe/combine.js';
import { DATA, fixture } from '../helpers/fixtures.js';
import { EXPORT_ONNX, stageFixture } from './consumers.js';

/** The first `rows` rows of SST-2 dev (header kept), as a TSV file in `dir`. */
export function smallTsv(dir: string, rows = 40): string {
  const file = path.join(dir, `sst2-${rows}.tsv`);
  const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
  fs.writeFileSync(file, lines.slice(0, rows + 1).join('\n') + '\n');
  return file;
}

/** sst2-sibling-a exported to `<dir>/model.onnx`, with its config and tokenizer files beside it. */
export async function exportedOnnx(dir: string): Promise<string> {
  stageFixture(fixture('sst2-sibling-a'), dir, false);
  const file = path.join(dir, 'model.onnx');
  await EXPORT_ONNX.run(fixture('sst2-sibling-a'), file);
  return file;
}

/** A combine recipe over two members with different tokenizers (sibling-a + stranger-b), mean fusion. */
export function combineRecipe(data: string, out: string, method = 'mean'): CombineRecipe {
  return {
    members: [{ path: fixture('sst2-sibling-a') }, { path: fixture('sst2-stranger-b') }],
    data: { path: data },
    evalData: null,
    // SST-2's labels are the integers 0/1 and the members order their label names differently:
    // say what the integers mean.
    labels: ['negative', 'positive'],
    labelMap: {},
    method,
    options: {},
    seed: 0,
    folds: 2,
    out,
  };
}

export async function combinedFolder(out: string, data: string, method = 'mean'): Promise<string> {
  await combine(combineRecipe(data, out, method), { registry: FUSION_METHODS });
  return out;
}
