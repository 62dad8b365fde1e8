import fs from 'node:fs';
import path from 'node:path';
import { assertInsideFolder } from '../checkpoint/folder-files.js';
import { BertfuseError } from '../errors.js';
import type { QuantizeMode } from '../graph/quantize.js';
import { MERGE_MANIFEST } from './merged.js';

/*
 * The manifest of a multi-task merge (`bertfuse-merge.json` beside one folder per task), read and
 * checked on its own: `inspect` describes a merge from it without loading the graph-running side
 * (merged-model.ts), which `predict` and `serve` use.
 */

export interface TaskHead {
  readonly task: string;
  readonly labels: readonly string[];
  /** The graph output holding this task's logits (`logits_<task>`). */
  readonly output: string;
  /** The task's own HF folder, relative to the merge folder. */
  readonly folder: string;
}

export interface MergeManifest {
  readonly heads: string;
  readonly tasks: readonly TaskHead[];
  readonly onnx: string | null;
  readonly quantize: QuantizeMode | null;
}

export function badMergeManifest(problem: string, file: string): BertfuseError {
  return new BertfuseError('E_BAD_CONFIG', problem, file);
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** `bertfuse-merge.json` of a multi-task merge, checked field by field; null when `dir` is not one (no manifest, or a single-head merge, which is a plain checkpoint). */
export function readMultiTaskManifest(dir: string): MergeManifest | null {
  const file = path.join(dir, MERGE_MANIFEST);
  if (!fs.existsSync(file) || fs.existsSync(path.join(dir, 'config.json'))) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw badMergeManifest(`not valid JSON (${(e as Error).message})`, file);
  }
  const m = raw as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null || m['format'] !== 'bertfuse-merge') throw badMergeManifest('not a bertfuse merge manifest (format is not "bertfuse-merge")', file);
  if (!Array.isArray(m['tasks']) || m['tasks'].length === 0) throw badMergeManifest('"tasks" must be a non-empty list', file);
  const tasks = (m['tasks'] as unknown[]).map((t, i): TaskHead => {
    const o = t as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o['task'] !== 'string' || typeof o['folder'] !== 'string' || typeof o['output'] !== 'string' || !isStringList(o['labels'])) {
      throw badMergeManifest(`tasks[${i}] needs "task", "folder", "output" (strings) and "labels" (a list of names)`, file);
    }
    assertInsideFolder(path.join(dir, o['folder']), dir);
    return { task: o['task'], labels: o['labels'], output: o['output'], folder: o['folder'] };
  });
  const onnx = m['onnx'] ?? null;
  if (onnx !== null && typeof onnx !== 'string') throw badMergeManifest('"onnx" must be a file name or null', file);
  const quantize = m['quantize'] ?? null;
  if (quantize !== null && quantize !== 'int8') throw badMergeManifest(`"quantize" must be int8 when present, got ${JSON.stringify(quantize)}`, file);
  if (onnx !== null) assertInsideFolder(path.join(dir, onnx), dir);
  return { heads: String(m['heads']), tasks, onnx, quantize };
}
