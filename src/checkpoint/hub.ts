import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadFile, modelInfo, pathsInfo } from '@huggingface/hub';
import { BertfuseError } from '../errors.js';

/*
 * Models by hub id (`org/name`, optionally `org/name@revision`), resolved in the Hugging Face
 * cache layout that Python's huggingface_hub and transformers share:
 *
 *   <cache>/models--org--name/refs/<revision>          text file: the commit hash
 *   <cache>/models--org--name/snapshots/<hash>/<file>  symlink to ../../blobs/<etag>
 *   <cache>/models--org--name/blobs/<etag>             the bytes
 *
 * Offline first: a cached snapshot is used without any network call. Otherwise the files a
 * classifier needs are downloaded with @huggingface/hub into that same layout.
 */

export interface HubOptions {
  /** Cache root; default HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. */
  readonly cacheDir?: string;
  /** Hub base URL; default HF_ENDPOINT, else https://huggingface.co. */
  readonly endpoint?: string;
  /** Never touch the network (default: HF_HUB_OFFLINE=1). */
  readonly offline?: boolean;
  /** Give up on a request whose response has not started within this time (default 20 s, or BERTFUSE_HUB_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Access token for private or gated models; default HF_TOKEN. */
  readonly token?: string;
  /** Bytes downloaded so far across all files of the model. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface HubId {
  readonly repo: string;
  readonly revision: string;
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';
const DEFAULT_TIMEOUT_MS = 20_000;
const COMMIT_HASH = /^[0-9a-f]{40}$/;
/** Hub repo names: `owner/name`, letters, digits, `-`, `_`, `.`; no `..` and no leading/trailing separators. */
const HUB_ID = /^([A-Za-z0-9][\w.-]{0,95})\/([A-Za-z0-9][\w.-]{0,95})(?:@([\w.\/-]{1,200}))?$/;

/** Files a classifier folder may carry besides its weights. */
const SIDE_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'sentencepiece.bpe.model', 'spm.model', 'special_tokens_map.json'];
/** What makes a snapshot usable (one of these besides config.json). */
const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json', 'bertfuse.json', 'onnx/model.onnx', 'model.onnx'];

/**
 * A path the hub (or a cache) gave us, accepted only as huggingface_hub accepts it: relative,
 * '/'-separated, no empty, '.' or '..' segment, no backslash, drive letter or NUL. Anything else
 * could make a download land outside the cache folder.
 */
export function checkHubPath(p: unknown, what: string): string {
  const ok =
    typeof p === 'string' &&
    p.length > 0 &&
    p.length <= 1024 &&
    !/[\\\u0000]/.test(p) &&
    !p.startsWith('/') &&
    !/^[A-Za-z]:/.test(p) &&
    p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
  if (!ok) throw new BertfuseError('E_HUB', `the hub listed ${what} ${JSON.stringify(String(p).slice(0, 120))}, which is not a plain relative path inside the repository; refusing it (nothing was written outside the cache)`);
  return p;
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** After links are resolved, `p` must still be inside `root` (a link in the cache must not lead out of it). */
function assertInside(root: string, p: string, what: string): void {
  const r = realOrSelf(root);
  const q = realOrSelf(p);
  if (q !== r && !q.startsWith(r + path.sep)) throw new BertfuseError('E_HUB', `${what} leads outside ${root} (to ${q}); refusing it`, p);
}

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['HF_HUB_CACHE']) return env['HF_HUB_CACHE'];
  if (env['HF_HOME']) return path.join(env['HF_HOME'], 'hub');
  return path.join(os.homedir(), '.cache', 'huggingface', 'hub');
}

/** `org/name[@revision]` → its parts; null for anything else (paths, single names). */
export function parseHubId(ref: string): HubId | null {
  const m = HUB_ID.exec(ref);
  if (!m || ref.includes('..')) return null;
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' };
}

export function repoFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split('/').join('--')}`);
}

function isUsableSnapshot(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) && WEIGHT_FILES.some((f) => fs.existsSync(path.join(dir, f)));
}

/** The cached snapshot folder of `id`, or null when it is not (completely) in the cache. */
export function findCachedSnapshot(id: HubId, cacheDir = hubCacheDir()): string | null {
  const folder = repoFolder(cacheDir, id.repo);
  let hash = id.revision;
  if (!COMMIT_HASH.test(hash)) {
    const ref = path.join(folder, 'refs', checkHubPath(id.revision, 'the revision'));
    if (!fs.existsSync(ref)) return null;
    hash = fs.readFileSync(ref, 'utf8').trim();
    if (!COMMIT_HASH.test(hash) && !/^[\w.-]+$/.test(hash)) return null;
    checkHubPath(hash, `the commit in ${ref}`);
  }
  const snap = path.join(folder, 'snapshots', hash);
  if (!isUsableSnapshot(snap)) return null;
  // Every file of the snapshot must resolve inside the repository's cache folder: a planted link
  // (config.json → ~/.ssh/…) would otherwise be read as the model.
  assertSnapshotInside(folder, snap);
  return snap;
}

function assertSnapshotInside(folder: string, snap: string): void {
  assertInside(folder, snap, 'the cached snapshot');
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      assertInside(folder, p, `cached file ${path.relative(snap, p)}`);
      if (fs.statSync(p).isDirectory()) walk(p);
    }
  };
  walk(snap);
}

/**
 * What the CLI and `loadClassifier` accept as `<model>`: an existing path is returned unchanged;
 * `org/name[@rev]` that is not a path resolves to a snapshot folder in the cache, downloading it
 * if needed. Anything else is returned unchanged so the caller reports the missing path.
 */
export async function resolveModelPath(target: string, opts: HubOptions = {}): Promise<string> {
  if (fs.existsSync(target)) return target;
  const id = parseHubId(target);
  if (!id) return target;
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const cached = findCachedSnapshot(id, cacheDir);
  if (cached) return cached;
  // `fixtures/sst2-sibling-x` reads like org/name, but `fixtures/` is a folder here: a mistyped
  // local path, never a download. Say what was tried, and the nearest name that exists.
  const owner = target.slice(0, target.indexOf('/'));
  if (fs.existsSync(owner) && fs.statSync(owner).isDirectory()) {
    throw new BertfuseError('E_MISSING_FILE', `no file or folder ${target}${nearest(owner, target)}; not a hub id either, because ${owner}/ is a local folder (and ${id.repo} is not in the Hugging Face cache)`);
  }
  const offline = opts.offline ?? ['1', 'true', 'yes'].includes((process.env['HF_HUB_OFFLINE'] ?? '').toLowerCase());
  if (offline) {
    throw new BertfuseError('E_HUB', `"${target}" is not a file or folder, and ${id.repo}@${id.revision} is not in the Hugging Face cache (${cacheDir}); HF_HUB_OFFLINE is set, so it was not downloaded`);
  }
  try {
    return await downloadToCache(id, { ...opts, cacheDir });
  } catch (e) {
    // A typo in a local path reads like a hub id: say both.
    if (e instanceof BertfuseError && downloadFailures.has(e)) throw new BertfuseError('E_HUB', `"${target}" is not a file or folder, and ${e.message}`);
    throw e;
  }
}

/** Errors meaning "could not download" (as opposed to "the hub sent something unsafe"). */
const downloadFailures = new WeakSet<BertfuseError>();

/** ` (did you mean owner/x?)` for the entry of `dir` closest to the mistyped name, when one is close. */
function nearest(dir: string, target: string): string {
  const want = target.slice(dir.length + 1).split(/[@/]/)[0]!;
  let best: { name: string; d: number } | null = null;
  for (const name of fs.readdirSync(dir)) {
    const d = editDistance(want, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(want.length / 4)) ? ` (did you mean ${dir}/${best.name}?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/** A fetch that gives up when the response has not started in time; the body may then take as long as it needs. */
function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    try {
      return await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, ctrl.signal]) : ctrl.signal });
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The innermost cause of a failed request, on one line ("getaddrinfo ENOTFOUND huggingface.co"). */
function reason(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; cur instanceof Error && i < 4; i++) {
    const status = (cur as { statusCode?: unknown }).statusCode;
    parts.push(typeof status === 'number' ? `HTTP ${status}: ${cur.message}` : cur.message);
    cur = (cur as { cause?: unknown }).cause;
  }
  if (parts.length === 0) parts.push(String(e));
  return parts.join(': ').split('\n')[0]!.slice(0, 300);
}

/** The files to fetch for a classifier: config, tokenizer files, and one weights format. */
export function pickFiles(available: readonly string[]): { files: string[]; shardedIndex: string | null } {
  for (const f of available) checkHubPath(f, 'a file');
  const have = new Set(available);
  if (!have.has('config.json')) throw new Error(`the repository has no config.json (files: ${available.slice(0, 10).join(', ')})`);
  // A bertfuse artifact is a small self-contained folder: take all of it.
  if (have.has('bertfuse.json')) return { files: [...available].filter((f) => !f.startsWith('.')), shardedIndex: null };
  // A SentencePiece model is read only when there is no tokenizer.json (XLM-R's is 5 MB): not fetched beside one.
  const files = SIDE_FILES.filter((f) => have.has(f) && !(f.endsWith('.model') && have.has('tokenizer.json')));
  // The loader's order (checkpoint/load.ts): safetensors before pickles, one file before shards.
  const weights = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'].find((w) => have.has(w));
  if (!weights) throw new Error(`the repository has no model.safetensors, sharded safetensors or pytorch_model.bin (single or sharded) (files: ${available.slice(0, 10).join(', ')})`);
  // Every model needs its tokenizer: refuse before any weights are fetched, not after.
  // The SentencePiece models are XLM-R's (sentencepiece.bpe.model) and DeBERTa-v3's (spm.model);
  // which one the family reads is decided when config.json is, at load.
  const tokenizers = [['tokenizer.json'], ['vocab.txt'], ['vocab.json', 'merges.txt'], ['sentencepiece.bpe.model'], ['spm.model']];
  if (!tokenizers.some((set) => set.every((f) => have.has(f)))) {
    const slow = ['vocab.json', 'merges.txt'].filter((f) => have.has(f));
    throw new Error(`the repository has no tokenizer bertfuse reads (tokenizer.json, vocab.txt, vocab.json + merges.txt, sentencepiece.bpe.model or spm.model)${slow.length ? `; it has only ${slow.join(', ')}` : ''}`);
  }
  return { files: [...files, weights], shardedIndex: weights.endsWith('.index.json') ? weights : null };
}

function linkOrCopy(blob: string, snap: string, file: string): void {
  const dest = path.join(snap, checkHubPath(file, 'a file'));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  // A folder on the way that is a link (planted in the cache) must not carry the file elsewhere.
  assertInside(snap, path.dirname(dest), `the folder of ${file}`);
  fs.rmSync(dest, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(dest), blob), dest);
  } catch {
    fs.copyFileSync(blob, dest);
  }
}

/** Downloads the files `id` needs into the cache layout and returns the snapshot folder. */
export async function downloadToCache(id: HubId, opts: HubOptions = {}): Promise<string> {
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const hubUrl = (opts.endpoint ?? process.env['HF_ENDPOINT'] ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? (Number(process.env['BERTFUSE_HUB_TIMEOUT_MS']) || DEFAULT_TIMEOUT_MS);
  const token = opts.token ?? process.env['HF_TOKEN'];
  const common = { repo: { type: 'model' as const, name: id.repo }, hubUrl, fetch: fetchWithTimeout(timeoutMs), ...(token ? { accessToken: token } : {}) };
  const folder = repoFolder(cacheDir, id.repo);
  checkHubPath(id.revision, 'the revision');
  const fail = (e: unknown): BertfuseError => {
    const err = new BertfuseError('E_HUB', `${id.repo}@${id.revision} is not in the Hugging Face cache (${cacheDir}) and downloading it from ${hubUrl} failed: ${reason(e)}`);
    downloadFailures.add(err);
    return err;
  };
  try {
    const info = await modelInfo({ name: id.repo, revision: id.revision, hubUrl, fetch: common.fetch, additionalFields: ['sha', 'filePaths'], ...(token ? { accessToken: token } : {}) });
    const sha = info.sha;
    if (typeof sha !== 'string' || !COMMIT_HASH.test(sha)) throw new Error(`the hub did not report a commit hash for ${id.revision}`);
    // What to fetch is decided first: a repository bertfuse cannot use leaves no folder behind.
    const { files, shardedIndex } = pickFiles(info.filePaths ?? []);
    const snap = path.join(folder, 'snapshots', sha);
    fs.mkdirSync(snap, { recursive: true });
    assertInside(cacheDir, snap, 'the snapshot folder');
    await fetchFiles(files, sha, snap, folder, common, timeoutMs, opts.onProgress);
    if (shardedIndex) {
      const index = JSON.parse(fs.readFileSync(path.join(snap, shardedIndex), 'utf8')) as { weight_map?: Record<string, string> };
      const shards = [...new Set(Object.values(index.weight_map ?? {}))].map((s) => checkHubPath(s, `a shard in ${shardedIndex}`));
      await fetchFiles(shards, sha, snap, folder, common, timeoutMs, opts.onProgress);
    }
    if (id.revision !== sha) {
      const ref = path.join(folder, 'refs', id.revision);
      fs.mkdirSync(path.dirname(ref), { recursive: true });
      assertInside(folder, path.dirname(ref), 'the refs folder');
      fs.writeFileSync(ref, sha);
    }
    if (!isUsableSnapshot(snap)) throw new Error('the downloaded snapshot lacks config.json or weights');
    return snap;
  } catch (e) {
    if (e instanceof BertfuseError) throw e;
    throw fail(e);
  }
}

type Common = { repo: { type: 'model'; name: string }; hubUrl: string; fetch: typeof fetch; accessToken?: string };

/** A download whose body stops arriving fails instead of hanging. */
async function withStallTimeout<T>(p: Promise<T>, ms: number, file: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`download of ${file} stalled for ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, stall]);
  } finally {
    clearTimeout(timer);
  }
}

async function fetchFiles(files: readonly string[], sha: string, snap: string, folder: string, common: Common, timeoutMs: number, onProgress?: (done: number, total: number) => void): Promise<void> {
  if (files.length === 0) return;
  const infos = await pathsInfo({ ...common, paths: [...files], revision: sha });
  const byPath = new Map(infos.map((i) => [i.path, i]));
  const total = infos.reduce((s, i) => s + (i.lfs?.size ?? i.size ?? 0), 0);
  let done = 0;
  for (const file of files) {
    const info = byPath.get(file);
    if (!info) throw new Error(`the hub has no information on ${file}`);
    const etag = info.lfs?.oid ?? info.xetHash ?? info.oid;
    if (!etag || !/^[\w-]+$/.test(etag)) throw new Error(`no usable etag for ${file}`);
    const blob = path.join(folder, 'blobs', etag);
    if (!fs.existsSync(blob)) {
      const data = await downloadFile({ ...common, path: file, revision: sha });
      if (!data) throw new Error(`${file} is listed but cannot be downloaded`);
      fs.mkdirSync(path.dirname(blob), { recursive: true });
      assertInside(folder, path.dirname(blob), 'the blobs folder');
      const partial = `${blob}.incomplete`;
      const out = fs.createWriteStream(partial);
      try {
        const reader = data.stream().getReader();
        for (;;) {
          const { done: end, value } = await withStallTimeout(reader.read(), timeoutMs, file);
          if (end) break;
          if (!out.write(value)) await new Promise<void>((r) => out.once('drain', () => r()));
          done += value.byteLength;
          onProgress?.(done, total);
        }
        await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
        fs.renameSync(partial, blob);
      } catch (e) {
        out.destroy();
        fs.rmSync(partial, { force: true });
        throw e;
      }
    } else {
      done += fs.statSync(blob).size;
      onProgress?.(done, total);
    }
    linkOrCopy(blob, snap, file);
  }
}
