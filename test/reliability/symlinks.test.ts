/**
 * Symlinks (and special files) inside a model folder that lead outside it: config, weights, shards,
 * tokenizer files, combined folders' manifest, graph, external data and tokenizer groups. Each is
 * refused in one line naming the link, before the target is read, with the folder unchanged; links
 * that stay inside, and a Hugging Face cache snapshot (symlinks into ../../blobs), still load.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { splitSafetensors } from '../helpers/corrupt.js';
import { combinedFolder, smallTsv } from './artifacts.js';
import { BoundedCli, assertOneLineRefusal, unchanged } from './bounded.js';
import { stageFixture } from './consumers.js';

const root = tempDir('bertfuse-symlinks-');
const cli = new BoundedCli();
after(() => cli.close());

/** A folder outside every model folder, holding copies of the fixture's files (the "elsewhere"). */
const outside = stageFixture(fixture('sst2-sibling-a'), path.join(root, 'elsewhere'));
fs.writeFileSync(path.join(outside, 'secret.txt'), 'not yours\n');

let n = 0;
function freshModel(from = 'sst2-sibling-a'): string {
  return stageFixture(fixture(from), path.join(root, `model-${++n}`));
}

/** Replaces `name` in `dir` by a symlink to `target`. */
function link(dir: string, name: string, target: string): string {
  const p = path.join(dir, name);
  fs.rmSync(p, { recursive: true, force: true });
  fs.symlinkSync(target, p);
  return p;
}

const PREDICT = (dir: string): string[] => ['predict', dir, '--text', 'a fine film'];
const INSPECT = (dir: string): string[] => ['inspect', dir];

const CASES: readonly { name: string; make: () => { dir: string; link: string }; pattern: RegExp }[] = [
  { name: 'config.json -> a file outside (absolute link)', make: () => {
    const dir = freshModel();
    return { dir, link: link(dir, 'config.json', path.join(outside, 'config.json')) };
  }, pattern: /resolves to .*elsewhere\/config\.json, outside the model folder/ },
  { name: 'config.json -> ../elsewhere (relative link)', make: () => {
    const dir = freshModel();
    return { dir, link: link(dir, 'config.json', '../elsewhere/config.json') };
  }, pattern: /outside the model folder/ },
  { name: 'config.json -> /dev/zero', make: () => {
    const dir = freshModel();
    return { dir, link: link(dir, 'config.json', '/dev/zero') };
  }, pattern: /resolves to \/dev\/zero, outside/ },
  { name: 'model.safetensors -> a file outside', make: () => {
    const dir = freshModel();
    return { dir, link: link(dir, 'model.safetensors', path.join(outside, 'model.safetensors')) };
  }, pattern: /outside the model folder/ },
  { name: 'model.safetensors is a FIFO (a read would block forever)', make: () => {
    const dir = freshModel();
    const p = path.join(dir, 'model.safetensors');
    fs.rmSync(p);
    const r = spawnSync('mkfifo', [p]);
    assert.equal(r.status, 0, 'mkfifo');
    return { dir, link: p };
  }, pattern: /is not a regular file \(a device, FIFO or socket\)/ },
  { name: 'a shard of model.safetensors.index.json -> a file outside', make: () => {
    const dir = freshModel();
    const shard = 'model-00001-of-00001.safetensors';
    const parts = splitSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors')));
    const weightMap = Object.fromEntries(Object.keys(parts.header).filter((k) => k !== '__metadata__').map((k) => [k, shard]));
    fs.rmSync(path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return { dir, link: link(dir, shard, path.join(outside, 'model.safetensors')) };
  }, pattern: /outside the model folder/ },
  { name: 'model.safetensors.index.json -> a file outside', make: () => {
    const dir = freshModel();
    fs.rmSync(path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(outside, 'index.json'), JSON.stringify({ weight_map: {} }));
    return { dir, link: link(dir, 'model.safetensors.index.json', path.join(outside, 'index.json')) };
  }, pattern: /outside the model folder/ },
  { name: 'pytorch_model.bin -> a file outside', make: () => {
    const dir = freshModel('sst2-sibling-a-bin');
    fs.copyFileSync(path.join(fixture('sst2-sibling-a-bin'), 'pytorch_model.bin'), path.join(outside, 'pytorch_model.bin'));
    return { dir, link: link(dir, 'pytorch_model.bin', path.join(outside, 'pytorch_model.bin')) };
  }, pattern: /outside the model folder/ },
  { name: 'tokenizer.json -> a file outside', make: () => {
    const dir = freshModel();
    return { dir, link: link(dir, 'tokenizer.json', path.join(outside, 'tokenizer.json')) };
  }, pattern: /outside the model folder/ },
  { name: 'tokenizer_config.json -> a private file outside', make: () => {
    const dir = freshModel();
    return { dir, link: link(dir, 'tokenizer_config.json', path.join(outside, 'secret.txt')) };
  }, pattern: /outside the model folder/ },
  { name: 'vocab.txt -> a file outside (tokenizer.json present too)', make: () => {
    const dir = freshModel();
    return { dir, link: link(dir, 'vocab.txt', path.join(outside, 'vocab.txt')) };
  }, pattern: /outside the model folder/ },
  { name: 'a link inside the folder that chains to a link outside', make: () => {
    const dir = freshModel();
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.symlinkSync(path.join(outside, 'tokenizer.json'), path.join(dir, 'sub', 'tok.json'));
    return { dir, link: link(dir, 'tokenizer.json', 'sub/tok.json') };
  }, pattern: /outside the model folder/ },
  { name: 'config.json is a dangling symlink', make: () => {
    const dir = freshModel();
    return { dir, link: link(dir, 'config.json', path.join(root, 'no-such-file.json')) };
  }, pattern: /is a symlink to a file that does not exist/ },
];

describe('symlinks out of a model folder are refused', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const { dir, link: l } = c.make();
      const before = fs.readFileSync(path.join(outside, 'config.json'));
      for (const argv of [INSPECT(dir), PREDICT(dir)]) {
        const r = await unchanged(outside, () => cli.run(argv));
        assertOneLineRefusal(r, { names: l, pattern: c.pattern }, argv[0]);
      }
      assert.deepEqual(fs.readFileSync(path.join(outside, 'config.json')), before);
    });
  }

  test('links that stay inside the folder load (tokenizer.json -> sub/tokenizer.json)', async () => {
    const dir = freshModel();
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.renameSync(path.join(dir, 'tokenizer.json'), path.join(dir, 'sub', 'tokenizer.json'));
    link(dir, 'tokenizer.json', 'sub/tokenizer.json');
    const r = await cli.run(['predict', dir, '--text', 'a gorgeous , witty movie .', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('a folder reached through a symlink (the link is the user\'s own path) loads', async () => {
    const dir = freshModel();
    const alias = path.join(root, 'alias-to-model');
    fs.symlinkSync(dir, alias);
    const r = await cli.run(['predict', alias, '--text', 'a gorgeous , witty movie .', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('a hub cache snapshot (files are symlinks into ../../blobs) loads; a link to another repo in the cache does not', async () => {
    const cache = path.join(root, 'hub');
    const repo = path.join(cache, 'models--org--model');
    const snap = path.join(repo, 'snapshots', 'abc123');
    fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    fs.mkdirSync(snap, { recursive: true });
    for (const f of fs.readdirSync(fixture('sst2-sibling-a'))) {
      fs.copyFileSync(path.join(fixture('sst2-sibling-a'), f), path.join(repo, 'blobs', `etag-${f}`));
      fs.symlinkSync(`../../blobs/etag-${f}`, path.join(snap, f));
    }
    const ok = await cli.run(['predict', snap, '--text', 'a gorgeous , witty movie .', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    // Another repo's blob in the same cache is outside this repo.
    const other = path.join(cache, 'models--evil--repo', 'blobs');
    fs.mkdirSync(other, { recursive: true });
    fs.copyFileSync(path.join(fixture('sst2-sibling-a'), 'config.json'), path.join(other, 'cfg'));
    const l = link(snap, 'config.json', '../../../models--evil--repo/blobs/cfg');
    const r = await cli.run(['inspect', snap]);
    assertOneLineRefusal(r, { names: l, pattern: /outside the model folder .*models--org--model/ });
  });
});

describe('symlinks out of a combined folder are refused', () => {
  let good = '';
  before(async () => {
    good = await combinedFolder(path.join(root, 'combined'), smallTsv(root));
  });
  const copy = (): string => {
    const d = path.join(root, `combined-${++n}`);
    fs.cpSync(good, d, { recursive: true });
    return d;
  };
  const cases: readonly { name: string; make: (d: string) => string }[] = [
    { name: 'bertfuse.json -> a manifest outside', make: (d) => {
      fs.copyFileSync(path.join(d, 'bertfuse.json'), path.join(outside, 'bertfuse.json'));
      return link(d, 'bertfuse.json', path.join(outside, 'bertfuse.json'));
    } },
    { name: 'model.onnx -> a graph outside', make: (d) => {
      const manifest = JSON.parse(fs.readFileSync(path.join(d, 'bertfuse.json'), 'utf8')) as { model: { file: string } };
      const file = path.join(d, manifest.model.file);
      fs.copyFileSync(file, path.join(outside, 'model.onnx'));
      return link(d, manifest.model.file, path.join(outside, 'model.onnx'));
    } },
    { name: "a tokenizer group's folder -> a folder outside", make: (d) => {
      const manifest = JSON.parse(fs.readFileSync(path.join(d, 'bertfuse.json'), 'utf8')) as { tokenizers: { dir: string }[] };
      const t = manifest.tokenizers.find((x) => x.dir !== '.')!;
      fs.cpSync(path.join(d, t.dir), path.join(outside, 'tokgroup'), { recursive: true });
      return link(d, t.dir, path.join(outside, 'tokgroup'));
    } },
    { name: "a tokenizer group's tokenizer.json -> a file outside", make: (d) => link(d, 'tokenizer.json', path.join(outside, 'tokenizer.json')) },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const d = copy();
      const l = c.make(d);
      const r = await unchanged(outside, () => cli.run(PREDICT(d)));
      assertOneLineRefusal(r, { names: l, pattern: /outside the model folder/ });
    });
  }
});
