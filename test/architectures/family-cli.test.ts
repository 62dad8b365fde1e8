import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { createServer, type PredictResponse } from '../../src/serve/server.js';
import { fakeHub } from '../helpers/fake-hub.js';
import { tempDir } from '../helpers/fixtures.js';
import { cliInProcess } from '../reliability/in-process.js';
import { familyFixture, familyReference, type FamilyReference } from './family-fixture.js';

/**
 * The commands people run, on every family's fixture: `inspect` (sizes counted from the
 * safetensors header here), `predict --json` (probabilities of reference.json by label name,
 * including xlmr-sst2's reversed POSITIVE/NEGATIVE and deberta-sst2's neg/pos), the same through a
 * hub id served by a fake Hub on 127.0.0.1, `predict --quantize int8` (agrees with float32), and
 * `serve` answering one request on 127.0.0.1.
 */

const FAMILIES: Record<string, string> = {
  'distilbert-sst2': 'DistilBertForSequenceClassification',
  'roberta-sst2-a': 'RobertaForSequenceClassification',
  'xlmr-sst2': 'XLMRobertaForSequenceClassification',
  'electra-sst2': 'ElectraForSequenceClassification',
  'modernbert-sst2': 'ModernBertForSequenceClassification',
  'modernbert-sst2-mean': 'ModernBertForSequenceClassification',
  'deberta-sst2': 'DebertaV2ForSequenceClassification',
};
const TOL = 1e-4;

interface Record_ {
  label: string;
  probs: Record<string, number>;
}

/** Parameters as the file says: Σ numel over the safetensors header, read here without bertfuse. */
function headerParameters(dir: string): number {
  const b = fs.readFileSync(path.join(dir, 'model.safetensors'));
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[] }>;
  return Object.entries(header).reduce((s, [k, v]) => (k === '__metadata__' ? s : s + v.shape.reduce((a, d) => a * d, 1)), 0);
}

function labelsOf(ref: FamilyReference): string[] {
  return Object.keys(ref.id2label!).sort((a, b) => Number(a) - Number(b)).map((k) => ref.id2label![k]!);
}

function inputFile(ref: FamilyReference): string {
  const f = path.join(tempDir(), 'inputs.jsonl');
  fs.writeFileSync(f, ref.inputs.map((x) => JSON.stringify(x.text_pair === null ? { text: x.text } : { text: x.text, text_pair: x.text_pair })).join('\n') + '\n');
  return f;
}

async function predictJson(args: string[]): Promise<Record_[]> {
  const r = await cliInProcess(['predict', ...args, '--json', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record_);
}

function assertReference(got: readonly Record_[], ref: FamilyReference, what: string): void {
  const labels = labelsOf(ref);
  assert.equal(got.length, ref.inputs.length, what);
  ref.inputs.forEach((x, i) => {
    assert.equal(got[i]!.label, x.predicted_label, `${what} ${x.id}: label`);
    labels.forEach((l, j) => assert.ok(Math.abs(got[i]!.probs[l]! - x.probs![j]!) <= TOL, `${what} ${x.id}: p(${l}) ${got[i]!.probs[l]} vs PyTorch ${x.probs![j]}`));
  });
}

let hub: Awaited<ReturnType<typeof fakeHub>>;
const cache = tempDir('bertfuse-family-hub-');
before(async () => {
  const repos: Record<string, Record<string, Uint8Array>> = {};
  for (const name of Object.keys(FAMILIES)) {
    const dir = familyFixture(name);
    repos[`families/${name}`] = Object.fromEntries(fs.readdirSync(dir).filter((f) => f !== 'reference.json' && f !== 'metrics.json').map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  }
  hub = await fakeHub(repos);
  process.env['HF_ENDPOINT'] = hub.url;
  process.env['HF_HUB_CACHE'] = cache;
  process.env['BERTFUSE_HUB_TIMEOUT_MS'] = '10000';
});
after(async () => {
  await hub.app.close();
});

for (const [name, architecture] of Object.entries(FAMILIES)) {
  describe(`${name}: inspect, predict, hub id, int8, serve`, () => {
    const dir = familyFixture(name);
    const ref = familyReference(name);

    test('inspect --json: architecture, parameters from the file, labels in id2label order, tokenizer', async () => {
      const r = await cliInProcess(['inspect', dir, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as { architecture: string; parameters: number; labels: string[]; tokenizer: { maxLength: number } };
      assert.equal(d.architecture, architecture);
      assert.equal(d.parameters, headerParameters(dir));
      assert.deepEqual(d.labels, labelsOf(ref));
      assert.equal(d.tokenizer.maxLength, ref.inputs.find((x) => x.id === 'long_300_words_truncated')!.input_ids.length);
      const table = await cliInProcess(['inspect', dir]);
      assert.match(table.stdout, new RegExp(`architecture\\s+${architecture}`));
    });

    test('predict --json: every reference input (empty, pair, truncated, CJK/emoji) has PyTorch\'s label and probabilities by name', async () => {
      assertReference(await predictJson([dir, '--input', inputFile(ref)]), ref, 'predict');
    });

    test('predict <hub id>: downloaded from the Hub on 127.0.0.1 into the cache, then the same probabilities', async () => {
      assertReference(await predictJson([`families/${name}`, '--input', inputFile(ref)]), ref, 'hub');
      assert.ok(fs.existsSync(path.join(cache, `models--families--${name}`, 'snapshots')), 'cached in the HF layout');
    });

    test('predict --quantize int8: labels agree with float32 on the reference texts, probabilities within 0.1', async () => {
      const file = inputFile(ref);
      const fp32 = await predictJson([dir, '--input', file]);
      const int8 = await predictJson([dir, '--input', file, '--quantize', 'int8']);
      let agree = 0;
      let maxDiff = 0;
      let changed = 0;
      fp32.forEach((f, i) => {
        if (f.label === int8[i]!.label) agree++;
        for (const l of labelsOf(ref)) {
          const d = Math.abs(f.probs[l]! - int8[i]!.probs[l]!);
          maxDiff = Math.max(maxDiff, d);
          if (d > 1e-6) changed++;
        }
      });
      assert.ok(changed > 0, 'int8 ran: some probability moved');
      assert.ok(maxDiff < 0.1, `int8 moves a probability by ${maxDiff}`);
      assert.ok(agree >= fp32.length - 2, `int8 agrees with float32 on ${agree}/${fp32.length}`);
    });

    test('serve: one POST /v1/predict on 127.0.0.1 answers with the reference labels and probabilities', async () => {
      const model = await loadClassifier(dir);
      const app = createServer(model);
      try {
        const url = await app.listen({ host: '127.0.0.1', port: 0 });
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
        const singles = ref.inputs.filter((x) => x.text_pair === null);
        const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: singles.map((x) => x.text) }) });
        assert.equal(res.status, 200);
        const body = (await res.json()) as PredictResponse;
        assert.deepEqual(body.labels, labelsOf(ref));
        assertReference(body.predictions as unknown as Record_[], { ...ref, inputs: singles }, 'serve');
      } finally {
        await app.close();
        await model.close();
      }
    });
  });
}
