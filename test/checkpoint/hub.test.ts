import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findCachedSnapshot, hubCacheDir, parseHubId, pickFiles, resolveModelPath } from '../../src/checkpoint/hub.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { writeSafetensors } from '../../src/checkpoint/safetensors.js';
import { BertfuseError } from '../../src/errors.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { predict } from '../../src/runtime/predict.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { fakeHub } from '../helpers/fake-hub.js';
import { fixture, reference, tempDir } from '../helpers/fixtures.js';
import { familyFixture, familyReference } from '../architectures/family-fixture.js';

const SHA = 'a'.repeat(40);

/** Lays out a fixture as huggingface_hub would have cached it: blobs, snapshot symlinks, refs/main. */
function cacheFixture(cacheDir: string, repo: string, name: string, sha = SHA): string {
  const folder = path.join(cacheDir, `models--${repo.replace('/', '--')}`);
  const snap = path.join(folder, 'snapshots', sha);
  fs.mkdirSync(snap, { recursive: true });
  fs.mkdirSync(path.join(folder, 'blobs'), { recursive: true });
  for (const f of fs.readdirSync(fixture(name))) {
    const bytes = fs.readFileSync(path.join(fixture(name), f));
    const blob = path.join(folder, 'blobs', crypto.createHash('sha256').update(bytes).digest('hex'));
    fs.writeFileSync(blob, bytes);
    fs.symlinkSync(path.relative(snap, blob), path.join(snap, f));
  }
  fs.mkdirSync(path.join(folder, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'refs', 'main'), sha);
  return snap;
}

function hubError(e: unknown): boolean {
  assert.ok(e instanceof BertfuseError, String(e));
  assert.equal(e.code, 'E_HUB', e.message);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
}

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('hub ids are told apart from paths; the cache folder follows HF_HUB_CACHE, HF_HOME, then ~/.cache', () => {
  assert.deepEqual(parseHubId('google-bert/bert-base-uncased'), { repo: 'google-bert/bert-base-uncased', revision: 'main' });
  assert.deepEqual(parseHubId('org/name@v1.0'), { repo: 'org/name', revision: 'v1.0' });
  for (const notId of ['./org/name', '/abs/path', 'org/name/extra', 'single', '../x/y', 'org/..']) assert.equal(parseHubId(notId), null, notId);
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' }), '/c');
  assert.equal(hubCacheDir({ HF_HOME: '/h' }), path.join('/h', 'hub'));
  assert.equal(hubCacheDir({}), path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
});

test('a cached org/name resolves offline to its snapshot through refs/main, and predicts like the fixture', async () => {
  const cache = tempDir();
  const snap = cacheFixture(cache, 'hubtest/tiny', 'sst2-sibling-a');
  assert.equal(await resolveModelPath('hubtest/tiny', { cacheDir: cache, offline: true }), snap);
  assert.equal(await resolveModelPath(`hubtest/tiny@${SHA}`, { cacheDir: cache, offline: true }), snap);
  // An existing path always wins over the hub reading.
  assert.equal(await resolveModelPath(fixture('sst2-sibling-a'), { cacheDir: cache, offline: true }), fixture('sst2-sibling-a'));
  const ref = reference('sst2-sibling-a');
  const model = await loadClassifier('hubtest/tiny', { hub: { cacheDir: cache, offline: true } });
  try {
    const preds = await predict(model, ref.inputs.slice(0, 8).map((x) => ({ text: x.text, textPair: x.text_pair })));
    preds.forEach((p, i) => assert.ok(Math.abs(p.probs['positive']! - ref.inputs[i]!.probs![1]!) < 1e-4));
  } finally {
    await model.close();
  }
  // A snapshot without weights does not count as cached.
  const partial = cacheFixture(cache, 'hubtest/partial', 'sst2-sibling-a', 'b'.repeat(40));
  fs.rmSync(path.join(partial, 'model.safetensors'));
  assert.equal(findCachedSnapshot({ repo: 'hubtest/partial', revision: 'main' }, cache), null);
});

test('the CLI takes a cached hub id (HF_HUB_CACHE) and fails in one line, quickly, for one that is not cached', async () => {
  const cache = tempDir();
  cacheFixture(cache, 'hubtest/tiny', 'sst2-sibling-a');
  const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}`, BERTFUSE_HUB_TIMEOUT_MS: '3000' };
  const ok = await runCli(['predict', 'hubtest/tiny', '--json', '--text', 'a gorgeous , witty , seductive movie .'], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout.trim()).label, 'positive');
  const t0 = Date.now();
  const missing = await runCli(['inspect', 'hubtest/not-cached'], { env });
  assert.ok(isOneLineError(missing), missing.stderr);
  assert.match(missing.stderr, /test\/not-cached@main is not in the Hugging Face cache .* downloading it from http:\/\/127\.0\.0\.1:\d+ failed: .*(ECONNREFUSED|fetch failed)/);
  assert.ok(Date.now() - t0 < 20_000);
});

test('not cached and no network: one clear E_HUB line, bounded by the timeout; HF_HUB_OFFLINE never tries', async () => {
  const cache = tempDir();
  const t0 = Date.now();
  // The default endpoint (huggingface.co) is unreachable from here; the short timeout bounds the wait either way.
  await assert.rejects(resolveModelPath('hubtest/definitely-not-cached', { cacheDir: cache, timeoutMs: 3000 }), (e) => hubError(e) && /huggingface\.co failed/.test((e as Error).message));
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
  await assert.rejects(resolveModelPath('hubtest/definitely-not-cached', { cacheDir: cache, offline: true }), (e) => hubError(e) && /HF_HUB_OFFLINE/.test((e as Error).message));
  assert.deepEqual(fs.readdirSync(cache), [], 'nothing written to the cache');
});

function folderFiles(dir: string): Record<string, Uint8Array> {
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

test('an uncached id is downloaded with @huggingface/hub into the cache layout, then used offline', async () => {
  const cache = tempDir();
  // A repo with a pytorch_model.bin and a decoy that must not be fetched; a second with sharded safetensors.
  const bin: Record<string, Uint8Array> = { ...folderFiles(fixture('sst2-sibling-a-bin')), 'tf_model.h5': new Uint8Array(1000) };
  const shardDir = tempDir();
  const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
  const names = ckpt.tensors.names().sort();
  const halves = [names.slice(0, 20), names.slice(20)];
  const weightMap: Record<string, string> = {};
  halves.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(path.join(shardDir, file), part.map((n) => ({ name: n, shape: ckpt.tensors.info(n).shape, data: () => ckpt.tensors.read(n).data })));
    for (const n of part) weightMap[n] = file;
  });
  ckpt.close();
  const sharded: Record<string, Uint8Array> = { ...folderFiles(shardDir), 'model.safetensors.index.json': Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap })) };
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) sharded[f] = fs.readFileSync(path.join(fixture('sst2-sibling-a'), f));
  const hub = await fakeHub({ 'hubtest/bin': bin, 'hubtest/sharded': sharded });
  const ref = reference('sst2-sibling-a');
  try {
    const progress: [number, number][] = [];
    const snap = await resolveModelPath('hubtest/bin', { cacheDir: cache, endpoint: hub.url, timeoutMs: 5000, onProgress: (d, t) => progress.push([d, t]) });
    const folder = path.join(cache, 'models--hubtest--bin');
    assert.equal(snap, path.join(folder, 'snapshots', SHA));
    assert.equal(fs.readFileSync(path.join(folder, 'refs', 'main'), 'utf8'), SHA);
    assert.ok(fs.lstatSync(path.join(snap, 'pytorch_model.bin')).isSymbolicLink());
    assert.ok(fs.realpathSync(path.join(snap, 'pytorch_model.bin')).startsWith(fs.realpathSync(path.join(folder, 'blobs'))));
    assert.deepEqual(fs.readFileSync(path.join(snap, 'pytorch_model.bin')), Buffer.from(bin['pytorch_model.bin']!));
    assert.ok(!hub.fetched.includes('tf_model.h5') && !fs.existsSync(path.join(snap, 'tf_model.h5')));
    assert.ok(!fs.readdirSync(path.join(folder, 'blobs')).some((b) => b.endsWith('.incomplete')));
    const last = progress.at(-1)!;
    assert.equal(last[0], last[1], 'progress reaches the total');

    const shardSnap = await resolveModelPath('hubtest/sharded', { cacheDir: cache, endpoint: hub.url, timeoutMs: 5000 });
    assert.ok(fs.existsSync(path.join(shardSnap, 'model-00002-of-00002.safetensors')));
    for (const target of ['hubtest/bin', 'hubtest/sharded']) {
      const model = await loadClassifier(target, { hub: { cacheDir: cache, offline: true } });
      const preds = await predict(model, ref.inputs.slice(0, 6).map((x) => ({ text: x.text, textPair: x.text_pair })));
      preds.forEach((p, i) => assert.ok(Math.abs(p.probs['positive']! - ref.inputs[i]!.probs![1]!) < 1e-4, target));
      await model.close();
    }
    await assert.rejects(resolveModelPath('hubtest/absent', { cacheDir: cache, endpoint: hub.url, timeoutMs: 5000 }), (e) => hubError(e) && /HTTP 404: Repository not found/.test((e as Error).message));
  } finally {
    await hub.app.close();
  }
  // With the hub gone, the cache alone serves both ids.
  assert.equal(await resolveModelPath('hubtest/bin', { cacheDir: cache, endpoint: hub.url, timeoutMs: 1000 }), path.join(cache, 'models--hubtest--bin', 'snapshots', SHA));
});

test('pickFiles takes config, tokenizer files and one weights format', () => {
  assert.deepEqual(pickFiles(['config.json', 'model.safetensors', 'pytorch_model.bin', 'vocab.txt', 'tf_model.h5', 'README.md']).files, ['config.json', 'vocab.txt', 'model.safetensors']);
  assert.deepEqual(pickFiles(['merges.txt', 'config.json', 'vocab.json', 'model.safetensors', 'tokenizer_config.json']).files, ['config.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'model.safetensors']);
  assert.throws(() => pickFiles(['config.json', 'tf_model.h5']), /no model\.safetensors/);
  assert.throws(() => pickFiles(['model.safetensors']), /no config\.json/);
  assert.deepEqual(pickFiles(['config.json', 'model.safetensors', 'tokenizer_config.json', 'spm.model', 'README.md']).files, ['config.json', 'tokenizer_config.json', 'spm.model', 'model.safetensors']);
  assert.deepEqual(pickFiles(['sentencepiece.bpe.model', 'config.json', 'pytorch_model.bin', 'special_tokens_map.json']).files, ['config.json', 'sentencepiece.bpe.model', 'special_tokens_map.json', 'pytorch_model.bin']);
  assert.deepEqual(pickFiles(['sentencepiece.bpe.model', 'tokenizer.json', 'config.json', 'model.safetensors']).files, ['config.json', 'tokenizer.json', 'model.safetensors'], 'not fetched beside a tokenizer.json');
  assert.throws(() => pickFiles(['config.json', 'model.safetensors', 'tokenizer_config.json', 'merges.txt']), /no tokenizer bertfuse reads \(tokenizer\.json, vocab\.txt, vocab\.json \+ merges\.txt, sentencepiece\.bpe\.model or spm\.model\); it has only merges\.txt$/);
});

test('a RoBERTa repo with vocab.json + merges.txt and no tokenizer.json is fetched and predicts as PyTorch did; vocab.json alone is refused before any weights are fetched', async () => {
  const cache = tempDir();
  const dir = familyFixture('roberta-sst2-a');
  const files = (drop: readonly string[]): Record<string, Uint8Array> =>
    Object.fromEntries(fs.readdirSync(dir).filter((f) => !['reference.json', 'metrics.json', ...drop].includes(f)).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  const hub = await fakeHub({ 'hubtest/roberta-slow': files(['tokenizer.json']), 'hubtest/roberta-vocab-only': files(['tokenizer.json', 'merges.txt']) });
  const ref = familyReference('roberta-sst2-a');
  const labels = Object.keys(ref.id2label!).sort((a, b) => Number(a) - Number(b)).map((k) => ref.id2label![k]!);
  try {
    const snap = await resolveModelPath('hubtest/roberta-slow', { cacheDir: cache, endpoint: hub.url, timeoutMs: 5000 });
    assert.deepEqual(fs.readdirSync(snap).sort(), ['config.json', 'merges.txt', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.json']);
    const model = await loadClassifier('hubtest/roberta-slow', { hub: { cacheDir: cache, offline: true } });
    try {
      const preds = await predict(model, ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair ?? null })));
      preds.forEach((p, i) => labels.forEach((l, j) => assert.ok(Math.abs(p.probs[l]! - ref.inputs[i]!.probs![j]!) < 1e-4, `${ref.inputs[i]!.id} p(${l}) ${p.probs[l]} vs PyTorch ${ref.inputs[i]!.probs![j]}`)));
    } finally {
      await model.close();
    }
    const fetchedBefore = hub.fetched.length;
    await assert.rejects(
      resolveModelPath('hubtest/roberta-vocab-only', { cacheDir: cache, endpoint: hub.url, timeoutMs: 5000 }),
      (e) => hubError(e) && /hubtest\/roberta-vocab-only@main .* failed: the repository has no tokenizer bertfuse reads .*; it has only vocab\.json$/.test((e as Error).message),
    );
    assert.equal(hub.fetched.length, fetchedBefore, 'nothing downloaded');
    assert.ok(!fs.existsSync(path.join(cache, 'models--hubtest--roberta-vocab-only', 'snapshots')), 'no half-fetched snapshot');
  } finally {
    await hub.app.close();
  }
});

test('XLM-R and DeBERTa-v3 repos with only the SentencePiece model (no tokenizer.json) are fetched and predict as PyTorch did', async () => {
  const cache = tempDir();
  const repos: Record<string, Record<string, Uint8Array>> = {};
  const cases = [
    { name: 'xlmr-sst2', model: 'sentencepiece.bpe.model' },
    { name: 'deberta-sst2', model: 'spm.model' },
  ];
  for (const c of cases) {
    const dir = familyFixture(c.name);
    repos[`hubtest/${c.name}-spm`] = Object.fromEntries(fs.readdirSync(dir).filter((f) => !['reference.json', 'metrics.json', 'tokenizer.json', 'spm-reference.json'].includes(f)).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  }
  const hub = await fakeHub(repos);
  try {
    for (const c of cases) {
      const snap = await resolveModelPath(`hubtest/${c.name}-spm`, { cacheDir: cache, endpoint: hub.url, timeoutMs: 5000 });
      assert.deepEqual(fs.readdirSync(snap).sort(), ['config.json', 'model.safetensors', c.model, 'special_tokens_map.json', 'tokenizer_config.json'].sort());
      const ref = familyReference(c.name);
      const labels = Object.keys(ref.id2label!).sort((a, b) => Number(a) - Number(b)).map((k) => ref.id2label![k]!);
      const model = await loadClassifier(`hubtest/${c.name}-spm`, { hub: { cacheDir: cache, offline: true } });
      try {
        const preds = await predict(model, ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair ?? null })));
        preds.forEach((p, i) => labels.forEach((l, j) => assert.ok(Math.abs(p.probs[l]! - ref.inputs[i]!.probs![j]!) < 1e-4, `${c.name} ${ref.inputs[i]!.id} p(${l}) ${p.probs[l]} vs PyTorch ${ref.inputs[i]!.probs![j]}`)));
      } finally {
        await model.close();
      }
    }
  } finally {
    await hub.app.close();
  }
});
