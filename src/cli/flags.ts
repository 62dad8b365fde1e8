import { Option, type Command } from 'commander';
import type { DataSpec } from '../eval/prepare.js';
import { BertfuseError } from '../errors.js';
import { parseLabelMap, type LabelMap } from '../members/labels.js';
import { positiveInt, printNote } from './output.js';

/**
 * The one vocabulary of flags shared by `eval`, `combine`, `merge`, `predict` and `serve`: defined
 * once here so a flag means the same thing (and is spelled the same way) in every command.
 *
 *   members        positional everywhere
 *   -m, --method   the method (fusion or merge); nothing else
 *   -p, --param    a method parameter NAME=VALUE (repeatable); `--option` is its old name
 *   -r, --recipe   a YAML recipe; flags given as well override its values
 *   -o, --out      the output folder
 *   data           --data, --eval-data, --encoding, --text-column, --text-pair-column,
 *                  --label-column, --labels, --label-map
 *   running        -b/--batch-size, --threads, --json, -q/--quiet
 *   graphs         --quantize int8, --task NAME (graph-flags.ts: predict and serve load models without
 *                  this file's data and method messages)
 */

/** Repeated flag values, in order (commander's argParser for a repeatable or variadic flag). */
export const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/**
 * An old spelling that keeps working, hidden from --help: using it prints one line on stderr
 * naming the new spelling (once per run, however often it is repeated).
 */
export function deprecatedOption<T = string>(flags: string, now: string, parse: (v: string, prev: T | undefined) => T = (v) => v as T): Option {
  const old = flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
  let told = false;
  return new Option(flags).hideHelp().argParser((v: string, prev: T | undefined) => {
    if (!told) printNote(`${old} is deprecated; use ${now}`);
    told = true;
    return parse(v, prev);
  });
}

/** Values of the shared data flags, as commander hands them over. */
export interface DataFlags {
  data?: string;
  evalData?: string[];
  encoding?: string;
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  labels?: string;
  labelMap?: string[];
  /** Old spelling of --text-pair-column. */
  pairColumn?: string;
}

export interface DataFlagHelp {
  /** What --data is for in this command. */
  readonly data: string;
  /** What --eval-data is for in this command. */
  readonly evalData: string;
  /** Old names of --eval-data still accepted (hidden), e.g. merge's --eval. */
  readonly evalAliases?: readonly string[];
  /** Whether --eval-data may be given more than once (merge: one file per task). */
  readonly evalRepeatable?: boolean;
  /** What --labels means here, when not the common label order of members. */
  readonly labels?: string;
}

export function addDataFlags(cmd: Command, help: DataFlagHelp): Command {
  cmd
    .option('-d, --data <file>', help.data)
    .addOption(new Option('--eval-data <file>', help.evalRepeatable ? `${help.evalData} (repeatable)` : help.evalData).argParser(collect));
  for (const alias of help.evalAliases ?? []) {
    // Old command lines keep working (with a note naming --eval-data); --help shows one name.
    cmd.addOption(deprecatedOption<string[]>(`${alias} <file...>`, '--eval-data', collect));
  }
  return cmd
    .option('--encoding <name>', 'data encoding: utf8 (default, checked), latin1, utf16le')
    .option('--text-column <name>', 'text column or JSON field (default: text, sentence, content or sentence1)')
    .option('--text-pair-column <name>', 'second text of a pair (default: text_pair or sentence2 when present)')
    .addOption(deprecatedOption('--pair-column <name>', '--text-pair-column'))
    .option('--label-column <name>', 'label column or JSON field (default: label)')
    .option('--labels <a,b,...>', help.labels ?? "label order (default: the first member's); integer labels in the data index this list")
    .addOption(new Option('--label-map <FROM=TO,...>', 'rename labels of members and data, e.g. NEG=negative,POS=positive (repeatable)').argParser(collect));
}

/** `--eval-data` plus any hidden old name of it, in the order given. */
export function evalDataFiles(f: DataFlags & Record<string, unknown>, aliases: readonly string[] = []): string[] {
  const out = [...(f.evalData ?? [])];
  for (const a of aliases) {
    const key = a.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = f[key];
    if (Array.isArray(v)) out.push(...(v as string[]));
  }
  return out;
}

/** The reading options the data flags carry, for a file. */
export function dataSpec(file: string, f: Pick<DataFlags, 'textColumn' | 'textPairColumn' | 'pairColumn' | 'labelColumn' | 'encoding'>): DataSpec {
  const pair = f.textPairColumn ?? f.pairColumn;
  return {
    path: file,
    ...(f.textColumn !== undefined ? { textColumn: f.textColumn } : {}),
    ...(pair !== undefined ? { textPairColumn: pair } : {}),
    ...(f.labelColumn !== undefined ? { labelColumn: f.labelColumn } : {}),
    ...(f.encoding !== undefined ? { encoding: f.encoding } : {}),
  };
}

export function parseLabels(spec: string | undefined): string[] | null {
  if (spec === undefined) return null;
  const labels = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (labels.length < 2) throw new BertfuseError('E_USAGE', `--labels needs at least two names, got "${spec}"`);
  return labels;
}

export function labelMapOf(f: DataFlags): LabelMap {
  return parseLabelMap(f.labelMap);
}

/**
 * `-m, --method`. Where several methods make sense (eval scores each), repeats and commas
 * collect into "a,b"; elsewhere a second -m is an error (merge's -m used to mean --model: say so).
 */
export function addMethodFlag(cmd: Command, help: string, opts: { several?: boolean } = {}): Command {
  return cmd.addOption(
    new Option('-m, --method <name>', opts.several ? `${help} (repeatable, or a,b)` : help).argParser((v: string, prev: string | undefined) => {
      if (prev === undefined) return v;
      if (opts.several) return `${prev},${v}`;
      throw new BertfuseError('E_USAGE', `-m/--method given twice ("${prev}", "${v}"); -m is the method in every command, members are positional`);
    }),
  );
}

export interface ParamFlags {
  param?: string[];
  /** Old name of --param in combine and eval. */
  option?: string[];
}

/** `-p, --param NAME=VALUE` (repeatable), the one flag for method parameters; `--option` stays as a deprecated alias. */
export function addParamFlag(cmd: Command, help: string): Command {
  return cmd
    .addOption(new Option('-p, --param <name=value>', `${help} (repeatable)`).argParser(collect))
    .addOption(deprecatedOption<string[]>('--option <name=value>', '-p/--param', collect));
}

/** Every NAME=VALUE given with --param (or its old name --option), in order. */
export function paramValues(f: ParamFlags): string[] {
  return [...(f.option ?? []), ...(f.param ?? [])];
}

export interface RunFlags {
  batchSize?: number;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

export function addRunFlags(cmd: Command, opts: { batchSize?: boolean; json?: string } = {}): Command {
  if (opts.batchSize !== false) cmd.option('-b, --batch-size <n>', 'inputs per model run', positiveInt('--batch-size'));
  return cmd
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt('--threads'))
    .option('--json', opts.json ?? 'print JSON')
    .option('-q, --quiet', 'no progress bars');
}

export function addRecipeFlag(cmd: Command, what: string): Command {
  return cmd.option('-r, --recipe <file>', `${what} recipe (YAML); flags given as well override its values`);
}

export function addOutFlag(cmd: Command, help: string): Command {
  return cmd.option('-o, --out <folder>', help);
}

