import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { ROOT } from '../helpers/fixtures.js';

/*
 * "Every hint names only flags the command has." Every string in src/ that names a `--flag` is a
 * message (or an option definition) some commands can print. Which commands: those whose code
 * reaches the file through imports — a command's own file is its own (a command file importing
 * another one for a helper does not inherit that command's messages), except where two commands
 * share one definition on purpose (eval is combine's flags and recipe: SHARED below). Each flag a
 * reachable message names must be an option of that command (hidden aliases count: they work).
 */

const SRC = path.join(ROOT, 'src');
const COMMANDS_DIR = path.join(SRC, 'cli', 'commands');
/** Command files whose definitions another command uses as its own (eval = combine's flags, recipe and their messages). */
const SHARED: Readonly<Record<string, readonly string[]>> = { eval: ['combine'] };

/**
 * Messages a command reaches through its imports but cannot print, each with the reason. Keep this
 * short: a message that a command CAN print with a flag it lacks is a bug to fix, not an entry here.
 */
const CANNOT_PRINT: readonly { readonly commands: readonly string[]; readonly file: string; readonly flags: readonly string[]; readonly why: string }[] = [
  { commands: ['demo'], file: 'src/', flags: ['--allow-below-chance', '--encoding', '--label-column', '--label-map', '--labels', '--max-barrier', '--max-cost', '--min-gain', '--param', '--quantize', '--text-column', '--text-pair-column'], why: 'demo runs fixed bundled members on bundled data with fixed options: no data, label, selection or method message can fire' },
  { commands: ['distill', 'eval', 'report', 'merge'], file: 'src/eval/select.ts', flags: ['--max-barrier', '--max-cost', '--min-gain'], why: 'selection under --method auto happens in combine only; report displays the reason combine wrote' },
  { commands: ['distill', 'eval', 'demo', 'inspect', 'merge'], file: 'src/runtime/classifier.ts', flags: ['--quantize'], why: 'said only when the caller passes quantize (predict, serve and combine do)' },
  { commands: ['distill'], file: 'src/artifact/read.ts', flags: ['--quantize'], why: 'said only when the caller passes quantize' },
  { commands: ['distill', 'eval'], file: 'src/artifact/merged-model.ts', flags: ['--quantize'], why: 'said only when the caller passes quantize (predict and serve do; the merge\'s own evaluation does not)' },
  { commands: ['distill', 'eval', 'demo'], file: 'src/artifact/combine.ts', flags: ['--quantize'], why: 'said only for a combine recipe with quantize, which only combine writes out' },
  { commands: ['eval'], file: 'src/merge/merge.ts', flags: ['--out'], why: 'refusing an output folder happens when merge writes one; eval writes nothing' },
  { commands: ['inspect', 'serve', 'random-checkpoint'], file: 'src/data/encoding.ts', flags: ['--encoding'], why: 'model files are read with encodingFlag: false, which leaves the hint out' },
  { commands: ['distill'], file: 'src/train/train-state.ts', flags: ['--checkpoint'], why: 'distill keeps its checkpoint beside --out and removes it first unless --resume (train-state\'s own callers name --checkpoint)' },
  { commands: ['demo'], file: 'src/cli/commands/demo.ts', flags: ['--text'], why: 'its "try: bertfuse predict <folder> --text" lines name predict\'s flag (the command name is in the template\'s previous part)' },
  { commands: ['eval'], file: 'src/cli/commands/combine.ts', flags: ['--out', '--quantize'], why: 'eval asks for no output folder (needOut false) and has no --quantize option to parse' },
  { commands: ['eval'], file: 'src/cli/graph-flags.ts', flags: ['--quantize'], why: 'the parser of combine\'s --quantize option; eval has no such option to parse' },
  { commands: ['merge'], file: 'src/eval/prepare.ts', flags: ['--allow-below-chance'], why: 'merge scores with evaluateMerged, not prepare\'s below-chance check' },
];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

interface Parsed {
  readonly imports: string[];
  /** Each string literal naming a --flag, with the flags it names. */
  readonly messages: { text: string; flags: { flag: string; at: number }[]; line: number }[];
}

function parse(file: string): Parsed {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const imports: string[] = [];
  const messages: Parsed['messages'] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text.startsWith('.')) {
      imports.push(path.resolve(path.dirname(file), n.moduleSpecifier.text.replace(/\.js$/, '.ts')));
    } else if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) {
      const text = n.text;
      // A flag in prose: `--name`, not the `--` of a command line's end of options.
      // An option definition ('-d, --data <file>') defines the flag where it is used: not a hint.
      const definition = /^(-\w, )?--[a-z][\w-]*( <[^>]+>| \[[^\]]+\])?$/.test(text.trim());
      // A flag in prose: `--name`, not the `--` of a command line's end of options, nor a CSS variable (`var(--ink)`, `--ink: #000`).
      const flags = definition ? [] : [...text.matchAll(/(?<![\w(-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?![\w-])(?!\s*:)/g)].map((m) => ({ flag: `--${m[1]}`, at: m.index }));
      if (flags.length > 0) messages.push({ text, flags, line: sf.getLineAndCharacterOfPosition(n.getStart()).line + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { imports, messages };
}

function optionsOf(cmd: Command, program: Command): Set<string> {
  // A command with subcommands (export triton) has their options too.
  const longs = (c: Command): string[] => [...c.options.flatMap((o) => (o.long ? [o.long] : [])), ...c.commands.flatMap(longs)];
  // --no-onnx defines --onnx's negation; both spellings are the command's.
  const names = [...longs(cmd), ...program.options.flatMap((o) => (o.long ? [o.long] : [])), '--help', '--version'];
  return new Set(names.flatMap((n) => (n.startsWith('--no-') ? [n, `--${n.slice(5)}`] : [n])));
}

test('every message that names a --flag names only flags of the commands that can print it', () => {
  const files = sourceFiles(SRC);
  const parsed = new Map(files.map((f) => [f, parse(f)]));
  const commandFile = (name: string): string => path.join(COMMANDS_DIR, `${name}.ts`);
  const isCommandFile = (f: string): boolean => path.dirname(f) === COMMANDS_DIR;
  const reach = (name: string): Set<string> => {
    const roots = [commandFile(name), ...(SHARED[name] ?? []).map(commandFile)];
    const seen = new Set<string>(roots);
    const stack = [...roots];
    while (stack.length > 0) {
      for (const dep of parsed.get(stack.pop()!)?.imports ?? []) {
        if (seen.has(dep) || isCommandFile(dep)) continue;
        seen.add(dep);
        stack.push(dep);
      }
    }
    return seen;
  };
  const program = buildProgram();
  const flagsOf = new Map(program.commands.map((c) => [c.name(), optionsOf(c, program)] as const));
  const failures: string[] = [];
  let checked = 0;
  for (const cmd of program.commands) {
    if (!fs.existsSync(commandFile(cmd.name()))) continue;
    for (const file of reach(cmd.name())) {
      const rel = path.relative(ROOT, file);
      for (const m of parsed.get(file)?.messages ?? []) {
        checked++;
        // `bertfuse predict <folder> --text …` inside a message names predict's flags, whoever prints it.
        // Flags after another program's name (tritonserver --model-repository) are that program's.
        const named = [...m.text.matchAll(/(?:bertfuse ([a-z-]+)|(tritonserver|npm|node|python3?|curl|mergekit-yaml) )/g)].filter((x) => x[2] !== undefined || flagsOf.has(x[1]!));
        for (const { flag, at } of m.flags) {
          const by = named.filter((x) => x.index < at).at(-1);
          if (by?.[2] !== undefined) continue;
          const owner = by?.[1] ?? cmd.name();
          if (flagsOf.get(owner)!.has(flag)) continue;
          if (owner === cmd.name() && CANNOT_PRINT.some((e) => e.commands.includes(owner) && rel.startsWith(e.file) && e.flags.includes(flag))) continue;
          failures.push(`${owner}${owner === cmd.name() ? '' : ` (printed by ${cmd.name()})`}: ${rel}:${m.line} names ${flag}: ${JSON.stringify(m.text.slice(0, 100))}`);
        }
      }
    }
  }
  assert.ok(checked > 100, `only ${checked} messages found: the scan is broken`);
  assert.deepEqual(failures, []);
});
