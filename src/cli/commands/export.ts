import type { Command } from 'commander';
import { exportTriton, TRITON_DEFAULTS } from '../../export/triton.js';
import { positiveInt, printJson, printLine } from '../output.js';

interface TritonFlags {
  name?: string;
  maxBatchSize: number;
  maxQueueDelay: number;
  instances: number;
  json?: boolean;
}

/** `bertfuse export <engine> …`: the combined folder written for another serving engine. */
export function register(program: Command): void {
  const exp = program.command('export').description('write a model folder for another serving engine (triton)');
  exp
    .command('triton')
    .description('a Triton Inference Server model repository (onnxruntime backend, client-side tokenisation)')
    .argument('<folder>', 'a combined model folder (bertfuse combine), or a model folder with model.onnx')
    .argument('<repo>', 'model repository folder to write (created; replaced only when it is an earlier bertfuse export)')
    .option('--name <name>', "model name in the repository (default: the folder's name)")
    .option('--max-batch-size <n>', `Triton max_batch_size (default ${TRITON_DEFAULTS.maxBatchSize})`, positiveInt('--max-batch-size'), TRITON_DEFAULTS.maxBatchSize)
    .option('--max-queue-delay <us>', `dynamic batching queue delay in microseconds (default ${TRITON_DEFAULTS.maxQueueDelayMicroseconds})`, positiveInt('--max-queue-delay'), TRITON_DEFAULTS.maxQueueDelayMicroseconds)
    .option('--instances <n>', `CPU instances of the model (default ${TRITON_DEFAULTS.instances})`, positiveInt('--instances'), TRITON_DEFAULTS.instances)
    .option('--json', 'print what was written as JSON')
    .action(async (folder: string, repo: string, f: TritonFlags) => {
      const r = await exportTriton(folder, repo, { ...(f.name ? { name: f.name } : {}), maxBatchSize: f.maxBatchSize, maxQueueDelayMicroseconds: f.maxQueueDelay, instances: f.instances });
      if (f.json) return printJson(r);
      printLine(`wrote ${r.repo}/${r.name}: config.pbtxt, labels.txt, 1/model.onnx, tokenizer/ (${r.files.length} files); start with: tritonserver --model-repository ${r.repo}`);
    });
}
