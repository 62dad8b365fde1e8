import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'fixtures');
export const DATA = path.join(ROOT, 'data');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export interface ReferenceInput {
  id: string;
  text: string;
  text_pair: string | null;
  sst2_label?: number;
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  tokens: string[];
  logits?: number[];
  probs?: number[];
  predicted_label?: string;
  cls_hidden_first8: number[];
  cls_hidden_l2norm: number;
  pooled_first8?: number[];
  mlm?: {
    position: number;
    masked_input_ids: number[];
    top5_ids: number[];
    top5_tokens: string[];
    top5_logits: number[];
    logits_first8: number[];
    logit_of_original: number;
    logsumexp: number;
    original_token_id: number;
  } | null;
}

export interface Reference {
  model: string;
  architecture: string;
  id2label?: Record<string, string>;
  inputs: ReferenceInput[];
}

export function reference(name: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(fixture(name), 'reference.json'), 'utf8')) as Reference;
}

// One exit listener for all temp folders: a listener per folder trips Node's
// MaxListenersExceededWarning once a test file makes more than ten.
const tempDirs: string[] = [];
process.once('exit', () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder, removed when the process exits. */
export function tempDir(prefix = 'bertfuse-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Copy a fixture folder somewhere writable, to corrupt it. */
export function copyFixture(name: string, dest = path.join(tempDir(), name)): string {
  fs.cpSync(fixture(name), dest, { recursive: true });
  for (const f of fs.readdirSync(dest)) fs.chmodSync(path.join(dest, f), 0o644);
  return dest;
}

export const CLASSIFIER_FIXTURES = ['sst2-sibling-a', 'sst2-sibling-b', 'sst2-stranger-a', 'sst2-stranger-b', 'sst2-stranger-d', 'subj-sibling'];
