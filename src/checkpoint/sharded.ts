import fs from 'node:fs';
import path from 'node:path';
import { BertfuseError, type ErrorCode } from '../errors.js';
import { assertInsideFolder } from './folder-files.js';
import type { Tensor, TensorInfo, TensorStore } from './tensor-store.js';

/**
 * A Hugging Face shard index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`):
 * `{ "weight_map": { tensor name: shard file } }` next to the shards, seen as one store. The index
 * format is the same for both weight formats; only the shard reader differs. Shards open on first use.
 */
export class ShardedStore implements TensorStore {
  readonly source: string;
  private readonly weightMap: Map<string, string>;
  private readonly shards = new Map<string, TensorStore>();

  constructor(
    indexFile: string,
    private readonly openShard: (file: string) => TensorStore,
    badCode: ErrorCode,
  ) {
    this.source = indexFile;
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    } catch (e) {
      throw new BertfuseError(badCode, `cannot read index (${(e as Error).message})`, indexFile);
    }
    const wm = (json as { weight_map?: unknown }).weight_map;
    if (typeof wm !== 'object' || wm === null) throw new BertfuseError(badCode, 'index has no weight_map object', indexFile);
    this.weightMap = new Map(Object.entries(wm as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    const dir = path.dirname(indexFile);
    for (const shard of new Set(this.weightMap.values())) {
      if (shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
        throw new BertfuseError(badCode, `shard name "${shard}" must be a plain file name`, indexFile);
      }
      if (!fs.existsSync(path.join(dir, shard))) throw new BertfuseError('E_MISSING_FILE', `shard "${shard}" listed in the index is missing`, indexFile);
      assertInsideFolder(path.join(dir, shard), dir);
    }
  }
  /** The shard files the index names, sorted (for hashing and listings). */
  shardFiles(): string[] {
    return [...new Set(this.weightMap.values())].sort().map((s) => path.join(path.dirname(this.source), s));
  }
  names(): string[] {
    return [...this.weightMap.keys()];
  }
  has(name: string): boolean {
    return this.weightMap.has(name);
  }
  info(name: string): TensorInfo {
    return this.shardOf(name).info(name);
  }
  read(name: string): Tensor {
    return this.shardOf(name).read(name);
  }
  close(): void {
    for (const s of this.shards.values()) s.close();
    this.shards.clear();
  }
  private shardOf(name: string): TensorStore {
    const shard = this.weightMap.get(name);
    if (shard === undefined) throw new BertfuseError('E_MISSING_TENSOR', `no tensor named "${name}"`, this.source);
    let f = this.shards.get(shard);
    if (!f) {
      f = this.openShard(path.join(path.dirname(this.source), shard));
      this.shards.set(shard, f);
    }
    if (!f.has(name)) throw new BertfuseError('E_MISSING_TENSOR', `index maps "${name}" to ${shard}, which does not hold it`, this.source);
    return f;
  }
}
