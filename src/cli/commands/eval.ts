import type { Command } from 'commander';
import { evaluate, evalInputFrom } from '../../eval/evaluate.js';
import { evalSummary, evalTable, extraSetTables, membersSummary, methodsHelp } from '../../eval/format.js';
import { chooseMethods } from '../../eval/methods.js';
import { prepare } from '../../eval/prepare.js';
import { FUSION_METHODS, findFusionMethod } from '../../fusion/registry.js';
import { printJson, printLine, printNote } from '../output.js';
import { addFusionFlags, fusionProgress, fusionRecipe, type FusionFlags } from './combine.js';

/** With several -m, each method takes the -p parameters it declares. */
function ownOptions(name: string, options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const m = findFusionMethod(FUSION_METHODS, name);
  return Object.fromEntries(Object.entries(options).filter(([k]) => m?.options.some((o) => o.name === k)));
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('score members and fusion methods side by side on labelled data (one table; --json for the full result)')
    .argument('[members...]', 'member model folders (at least two; or members: in --recipe)');
  cmd.addHelpText('after', '\n' + methodsHelp(FUSION_METHODS));
  addFusionFlags(cmd, `fusion method(s) to score: ${FUSION_METHODS.map((m) => m.name).join(', ')}, or all (default)`, { severalMethods: true }).action(async (members: string[], f: FusionFlags) => {
    // The same recipe as combine (its out: is not used here); flags override it.
    const recipe = fusionRecipe(members, f, 'eval', false);
    const names = recipe.method.split(',').map((m) => m.trim()).filter((m) => m !== '');
    const methods = names.length > 1 ? names.flatMap((m) => chooseMethods(FUSION_METHODS, m, ownOptions(m, recipe.options))) : chooseMethods(FUSION_METHODS, recipe.method === 'auto' ? 'all' : recipe.method, recipe.options);
    const progress = fusionProgress(Boolean(f.quiet || f.json));
    const evalSets = recipe.evalData ? [recipe.evalData, ...(recipe.extraEvalData ?? [])] : null;
    const prepared = await prepare(
      {
        members: recipe.members,
        data: recipe.data,
        evalData: evalSets,
        ...(recipe.allowBelowChance ? { allowBelowChance: true } : {}),
        labelMap: recipe.labelMap,
        ...(recipe.labels ? { labels: recipe.labels } : {}),
        ...(f.batchSize ? { batchSize: f.batchSize } : {}),
        ...(f.threads ? { runtime: { threads: f.threads } } : {}),
      },
      progress.members,
    ).finally(() => progress.stop());
    try {
      const { result } = evaluate(evalInputFrom(prepared), methods, {
        folds: recipe.folds,
        seed: recipe.seed,
        onProgress: progress.fits,
        ...(recipe.resamples !== undefined ? { resamples: recipe.resamples } : {}),
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
