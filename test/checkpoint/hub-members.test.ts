import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { prepare } from '../../src/eval/prepare.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

/** A Hugging Face cache holding fixtures under hub ids, as `huggingface-cli download` lays them out. */
function fakeCache(ids: Record<string, string>): string {
  const cache = tempDir();
  for (const [id, fx] of Object.entries(ids)) {
    const repo = path.join(cache, `models--${id.replace('/', '--')}`);
    const rev = 'a'.repeat(40);
    fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', 'main'), rev);
    fs.cpSync(fixture(fx), path.join(repo, 'snapshots', rev), { recursive: true });
  }
  return cache;
}

test('combine/eval members and merge models may be hub ids resolved in the local cache', async () => {
  const cache = fakeCache({ 'acme/sst2-a': 'sst2-sibling-a', 'acme/sst2-b': 'sst2-sibling-b' });
  const saved = { cache: process.env['HF_HUB_CACHE'], offline: process.env['HF_HUB_OFFLINE'] };
  process.env['HF_HUB_CACHE'] = cache;
  process.env['HF_HUB_OFFLINE'] = '1';
  try {
    const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(0, 21);
    const data = path.join(tempDir(), 'dev20.tsv');
    fs.writeFileSync(data, lines.join('\n') + '\n');
    const p = await prepare({ members: [{ path: 'acme/sst2-a' }, { path: 'acme/sst2-b' }], data: { path: data } });
    try {
      // Members are named after the hub id, not the snapshot hash.
      assert.deepEqual(p.set.members.map((m) => m.name), ['sst2-a', 'sst2-b']);
      assert.equal(p.fit.data.inputs.length, 20);
    } finally {
      p.close();
    }
    const out = path.join(tempDir(), 'merged');
    const r = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: 'acme/sst2-a' }, { model: 'acme/sst2-b' }], onnx: false }), { out });
    assert.equal(r.out, path.resolve(out));
    assert.ok(fs.existsSync(path.join(out, 'config.json')));
    // An id that is not cached, offline, is one clear error.
    await assert.rejects(prepare({ members: [{ path: 'acme/absent' }, { path: 'acme/sst2-b' }], data: { path: data } }), /acme\/absent/);
  } finally {
    for (const [k, v] of [['HF_HUB_CACHE', saved.cache], ['HF_HUB_OFFLINE', saved.offline]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
