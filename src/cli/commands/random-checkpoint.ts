import { Option, type Command } from 'commander';
import { BERT_BASE, createRandomCheckpoint } from '../../checkpoint/random.js';
import { nonNegativeInt, positiveInt, printLine } from '../output.js';

interface RandomFlags {
  size?: string;
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  vocab?: number;
  maxPositions?: number;
  labels: string;
  seed: number;
  dtype: 'F32' | 'F16' | 'BF16';
}

export function register(program: Command): void {
  program
    .command('random-checkpoint')
    .description('write a random-weight BERT classifier in Hugging Face format (for tests and benchmarks)')
    .argument('<out>', 'folder to create')
    .option('--size <name>', 'preset: tiny (fixture size) or base (BERT-base)', 'tiny')
    .option('--hidden <n>', 'hidden size', positiveInt('--hidden'))
    .option('--layers <n>', 'layers', positiveInt('--layers'))
    .option('--heads <n>', 'attention heads', positiveInt('--heads'))
    .option('--intermediate <n>', 'FFN size', positiveInt('--intermediate'))
    .option('--vocab <n>', 'vocabulary size (first n of bert-base-uncased)', positiveInt('--vocab'))
    .option('--max-positions <n>', 'max positions', positiveInt('--max-positions'))
    .option('--labels <names>', 'comma-separated label names; empty for a BertModel', 'negative,positive')
    .option('--seed <n>', 'random seed', nonNegativeInt('--seed'), 0)
    .addOption(new Option('--dtype <dtype>', 'weight dtype').choices(['F32', 'F16', 'BF16']).default('F32'))
    .action(async (out: string, f: RandomFlags) => {
      const preset = f.size === 'base' ? BERT_BASE : {};
      await createRandomCheckpoint(out, {
        ...preset,
        ...(f.hidden ? { hiddenSize: f.hidden } : {}),
        ...(f.layers ? { numLayers: f.layers } : {}),
        ...(f.heads ? { numHeads: f.heads } : {}),
        ...(f.intermediate ? { intermediateSize: f.intermediate } : {}),
        ...(f.vocab ? { vocabSize: f.vocab } : {}),
        ...(f.maxPositions ? { maxPositions: f.maxPositions } : {}),
        labels: f.labels.split(',').map((s) => s.trim()).filter(Boolean),
        seed: f.seed,
        dtype: f.dtype,
      });
      printLine(`wrote ${out}`);
    });
}
