/**
 * Tokenizes texts with bertfuse's own tokenizer for one model folder and pads them as the trainer
 * does (right padding with the model's pad id), so the PyTorch gradient reference
 * (scripts/family-grad-reference.py, which calls this) and the test feed the very same ids.
 *
 *   node --import tsx scripts/family-grad-batch.ts <model folder> < texts.json
 *
 * stdin: a JSON array of { text, text_pair }. stdout: { input_ids, attention_mask, token_type_ids,
 * tokens } ([batch][sequence] each).
 */
import fs from 'node:fs';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { padBatch } from '../src/runtime/batch.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: family-grad-batch.ts <model folder> < texts.json');
const texts = JSON.parse(fs.readFileSync(0, 'utf8')) as Array<{ text: string; text_pair: string | null }>;
const ckpt = loadCheckpoint(dir);
try {
  const encoded = texts.map((t) => ckpt.tokenizer.encode({ text: t.text, textPair: t.text_pair }));
  const padded = padBatch(encoded, ckpt.tokenizer.padId);
  const [b, s] = padded.dims;
  const rows = (a: BigInt64Array): number[][] => Array.from({ length: b }, (_, i) => Array.from(a.subarray(i * s, (i + 1) * s), Number));
  const ids = rows(padded.inputIds);
  process.stdout.write(
    JSON.stringify({
      input_ids: ids,
      attention_mask: rows(padded.attentionMask),
      token_type_ids: rows(padded.tokenTypeIds),
      tokens: ids.map((r) => ckpt.tokenizer.tokens(r)),
    }),
  );
} finally {
  ckpt.close();
}
