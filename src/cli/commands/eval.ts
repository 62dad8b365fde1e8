import type { Command } from 'commander';
import { BertfuseError } from '../../errors.js';
import { evaluate, evalInputFrom } from '../../eval/evaluate.js';
import { evalSummary, evalTable, extraSetTables, membersSummary, methodsHelp } from '../../eval/format.js';
import { chooseMethods, parseOptionFlags } from '../../eval/methods.js';
import { prepare } from '../../eval/prepare.js';
import { FUSION_METHODS } from '../../fusion/registry.js';
import { parseLabelMap } from '../../members/labels.js';
import { DEFAULT_FOLDS, DEFAULT_SEED } from '../../recipe/combine.js';
import { printJson, printLine, printNote } from '../output.js';
import { addFusionFlags, dataSpec, fusionProgress, parseLabels, type FusionFlags } from './combine.js';

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('score members and fusion methods side by side on labelled data (one table; --json for the full result)')
    .argument('<members...>', 'member model folders (at least two)');
  cmd.addHelpText('after', '\n' + methodsHelp(FUSION_METHODS));
  addFusionFlags(cmd, `fusion method(s) to score: ${FUSION_METHODS.map((m) => m.name).join(', ')}, or all (default)`).action(async (members: string[], f: FusionFlags) => {
    if (members.length < 2) throw new BertfuseError('E_USAGE', `eval needs at least two member folders, got ${members.length}`);
    if (!f.data) throw new BertfuseError('E_USAGE', 'eval needs --data <labelled file>');
    const methods = chooseMethods(FUSION_METHODS, f.method ?? 'all', parseOptionFlags(f.option));
    const labels = parseLabels(f.labels);
    const progress = fusionProgress(Boolean(f.quiet || f.json));
    const prepared = await prepare(
      {
        members: members.map((path) => ({ path })),
        data: dataSpec(f.data, f),
        evalData: f.evalData ? f.evalData.map((d) => dataSpec(d, f)) : null,
        ...(f.allowBelowChance ? { allowBelowChance: true } : {}),
        labelMap: parseLabelMap(f.labelMap),
        ...(labels ? { labels } : {}),
        ...(f.batchSize ? { batchSize: f.batchSize } : {}),
        ...(f.threads ? { runtime: { threads: f.threads } } : {}),
      },
      progress.members,
    ).finally(() => progress.stop());
    try {
      const { result } = evaluate(evalInputFrom(prepared), methods, {
        folds: f.folds ?? DEFAULT_FOLDS,
        seed: f.seed ?? DEFAULT_SEED,
        onProgress: progress.fits,
        ...(f.bootstrap !== undefined ? { resamples: f.bootstrap } : {}),
      });
      progress.stop();
      for (const line of prepared.notes) printNote(line);
      if (f.json) return printJson(result);
      for (const line of membersSummary(result)) printLine(line);
      printLine();
      printLine(evalTable(result));
      printLine();
      for (const block of extraSetTables(result)) {
        printLine(block);
        printLine();
      }
      for (const line of evalSummary(result)) printLine(line);
    } finally {
      progress.stop();
      prepared.close();
    }
  });
}
