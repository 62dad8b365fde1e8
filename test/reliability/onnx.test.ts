import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { registerCombinedLoader } from '../../src/artifact/read.js';
import type { ErrorCode } from '../../src/errors.js';
import { GraphBuilder } from '../../src/graph/onnx-builder.js';
import { saveOnnx } from '../../src/graph/save.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { editJson, expectRefused } from '../helpers/corrupt.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { combinedFolder, exportedOnnx, smallTsv } from './artifacts.js';
import { knownIssue } from './known-issues.js';

const root = tempDir('bertfuse-rel-onnx-');
let goodOnnx = '';
let goodCombined = '';
let n = 0;

before(async () => {
  registerCombinedLoader();
  goodOnnx = await exportedOnnx(path.join(root, 'single'));
  goodCombined = await combinedFolder(path.join(root, 'combined'), smallTsv(root));
});

/** A graph that loads fine but is not a classifier: one float input, its negation as output "other". */
function notAClassifier(file: string): void {
  const g = new GraphBuilder('not_a_classifier');
  const x = g.input('x', 'float', ['n']);
  g.output(g.op('Neg', [x]), 'other', 'float', ['n']);
  saveOnnx(g, file);
}

interface OnnxCase {
  readonly name: string;
  /** Damages a copy of the single-model folder; returns the path the error must name. */
  readonly mutate: (onnx: string) => string;
  readonly code: ErrorCode;
  readonly pattern: RegExp;
}

/** onnxruntime's refusal, cleaned: no repeated path, no C++ source location or signature. */
const ORT_REFUSAL = /onnxruntime cannot load the model \((?![^)]*(onnxruntime_src|::|Load model from))[^\n]+\)$/;

const truncate = (file: string, keep: (size: number) => number): void => {
  const b = fs.readFileSync(file);
  fs.writeFileSync(file, b.subarray(0, keep(b.length)));
};

const SINGLE: readonly OnnxCase[] = [
  { name: 'empty .onnx file', mutate: (f) => (fs.writeFileSync(f, ''), f), code: 'E_BAD_ONNX', pattern: /model\.onnx: the model file is empty$/ },
  { name: 'random bytes', mutate: (f) => (fs.writeFileSync(f, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff))), f), code: 'E_BAD_ONNX', pattern: ORT_REFUSAL },
  { name: 'truncated to half', mutate: (f) => (truncate(f, (s) => s >> 1), f), code: 'E_BAD_ONNX', pattern: /onnxruntime cannot load the model \(Protobuf parsing failed\.\)$/ },
  { name: 'truncated by one byte', mutate: (f) => (truncate(f, (s) => s - 1), f), code: 'E_BAD_ONNX', pattern: ORT_REFUSAL },
  { name: 'a JSON file named .onnx', mutate: (f) => (fs.writeFileSync(f, '{"graph": {}}'), f), code: 'E_BAD_ONNX', pattern: ORT_REFUSAL },
  { name: 'a valid graph with no "logits" output', mutate: (f) => (notAClassifier(f), f), code: 'E_BAD_ONNX', pattern: /graph has no "logits" output \(outputs: other\)/ },
  { name: 'no config.json beside it', mutate: (f) => {
    fs.rmSync(path.join(path.dirname(f), 'config.json'));
    // The loader also looks one level up (transformers.js keeps the graph in onnx/), and names that file.
    return path.join(path.dirname(path.dirname(f)), 'config.json');
  }, code: 'E_MISSING_FILE', pattern: /config\.json not found/ },
  { name: 'no tokenizer beside it', mutate: (f) => {
    const d = path.dirname(f);
    for (const t of ['tokenizer.json', 'vocab.txt']) fs.rmSync(path.join(d, t));
    return d;
  }, code: 'E_MISSING_FILE', pattern: /no tokenizer/ },
  { name: 'the .onnx is a directory', mutate: (f) => {
    fs.rmSync(f);
    fs.mkdirSync(f);
    // A folder is taken as a model folder, which has no config.json.
    return path.join(f, 'config.json');
  }, code: 'E_MISSING_FILE', pattern: /config\.json not found/ },
];

describe('ONNX files: damaged exports are refused', () => {
  for (const c of SINGLE) {
    test(c.name, knownIssue(`onnx: ${c.name}`), async () => {
      const dir = path.join(root, `single-${n++}`);
      fs.cpSync(path.dirname(goodOnnx), dir, { recursive: true });
      const onnx = path.join(dir, 'model.onnx');
      const names = c.mutate(onnx);
      await expectRefused(() => loadClassifier(onnx), { code: c.code, names, pattern: c.pattern });
    });
  }

  test('through the CLI: one line on stderr, exit 1, no stack', async () => {
    const dir = path.join(root, 'cli');
    fs.cpSync(path.dirname(goodOnnx), dir, { recursive: true });
    truncate(path.join(dir, 'model.onnx'), (s) => s >> 1);
    const r = await runCli(['predict', path.join(dir, 'model.onnx'), '--text', 'fine']);
    if (!isOneLineError(r) || !/model\.onnx: onnxruntime cannot load the model/.test(r.stderr)) throw new Error(`stderr: ${r.stderr}`);
  });
});

interface CombinedCase {
  readonly name: string;
  readonly mutate: (dir: string) => string;
  readonly code: ErrorCode;
  readonly pattern: RegExp;
}

const manifest = (dir: string): string => path.join(dir, 'bertfuse.json');
const editManifest = (edit: (m: Record<string, unknown>) => void) => (dir: string): string => {
  editJson(manifest(dir), edit);
  return manifest(dir);
};

const COMBINED: readonly CombinedCase[] = [
  { name: 'model.onnx truncated', mutate: (d) => (truncate(path.join(d, 'model.onnx'), (s) => s >> 1), path.join(d, 'model.onnx')), code: 'E_BAD_ONNX', pattern: ORT_REFUSAL },
  { name: 'model.onnx missing', mutate: (d) => (fs.rmSync(path.join(d, 'model.onnx')), d), code: 'E_MISSING_FILE', pattern: /model\.onnx is missing \(named in bertfuse\.json\)/ },
  { name: 'model.onnx replaced by a graph with other inputs and outputs', mutate: (d) => (notAClassifier(path.join(d, 'model.onnx')), path.join(d, 'model.onnx')), code: 'E_BAD_ONNX', pattern: /graph does not match bertfuse\.json \(missing input_ids/ },
  { name: 'bertfuse.json not JSON', mutate: (d) => (fs.writeFileSync(manifest(d), '{"format": "bertfuse-combined",'), manifest(d)), code: 'E_BAD_CONFIG', pattern: /cannot read the manifest/ },
  { name: 'bertfuse.json from a newer bertfuse', mutate: editManifest((m) => (m['formatVersion'] = 99)), code: 'E_BAD_CONFIG', pattern: /format version 99 is newer than this bertfuse understands/ },
  { name: 'bertfuse.json with one label', mutate: editManifest((m) => (m['labels'] = ['positive'])), code: 'E_BAD_CONFIG', pattern: /"labels" must list at least two names/ },
  { name: 'bertfuse.json tokenizer dir escapes the folder', mutate: editManifest((m) => ((m['tokenizers'] as Record<string, unknown>[])[1]!['dir'] = '../../etc')), code: 'E_BAD_CONFIG', pattern: /tokenizers\[1\]\.dir must stay inside the folder/ },
  { name: 'bertfuse.json model file escapes the folder', mutate: editManifest((m) => ((m['model'] as Record<string, unknown>)['file'] = '../single-0/model.onnx')), code: 'E_BAD_CONFIG', pattern: /"model\.file" must stay inside the folder/ },
  { name: 'bertfuse.json members missing', mutate: editManifest((m) => (m['members'] = [])), code: 'E_BAD_CONFIG', pattern: /"members" must be a non-empty list/ },
  { name: 'a tokenizer changed after combining', mutate: (d) => {
    const f = path.join(d, 'tokenizer_1', 'tokenizer.json');
    editJson(f, (j) => {
      const v = (j['model'] as Record<string, Record<string, number>>)['vocab']!;
      const [a, b] = Object.keys(v).slice(10, 12) as [string, string];
      [v[a], v[b]] = [v[b]!, v[a]!];
    });
    return path.join(d, 'tokenizer_1');
  }, code: 'E_BAD_TOKENIZER', pattern: /tokenizer files of group 1 differ from the ones the model was combined with/ },
  { name: 'a tokenizer file deleted', mutate: (d) => {
    const t = path.join(d, 'tokenizer_1');
    for (const f of ['tokenizer.json', 'vocab.txt']) fs.rmSync(path.join(t, f));
    return t;
  }, code: 'E_MISSING_FILE', pattern: /no tokenizer/ },
];

describe('combined model folders: damaged artifacts are refused', () => {
  for (const c of COMBINED) {
    test(c.name, knownIssue(`combined: ${c.name}`), async () => {
      const dir = path.join(root, `combined-${n++}`);
      fs.cpSync(goodCombined, dir, { recursive: true });
      const names = c.mutate(dir);
      await expectRefused(() => loadClassifier(dir), { code: c.code, names, pattern: c.pattern });
    });
  }
});
