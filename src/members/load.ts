import path from 'node:path';
import { hashFiles, loadCheckpoint, type Checkpoint } from '../checkpoint/load.js';
import type { BertTokenizer } from '../checkpoint/tokenizer.js';
import { BertfuseError } from '../errors.js';
import { alignLabels, mapLabels, type LabelMap } from './labels.js';

/** One classifier taking part in a fusion, with its labels aligned to the common list. */
export interface Member {
  /** Unique within the set; used in output names (`logits_<name>`) and tables. */
  readonly name: string;
  /** The path as the user gave it. */
  readonly source: string;
  readonly checkpoint: Checkpoint;
  /** The member's own label names (after the label map), in its class-index order. */
  readonly ownLabels: readonly string[];
  /** `alignment[j]` = the member's class index for common label j. */
  readonly alignment: readonly number[];
  /** Index of the tokenizer group this member reads its inputs from. */
  readonly group: number;
}

/** Members whose tokenizers produce identical ids share one set of graph inputs. */
export interface TokenizerGroup {
  readonly index: number;
  /** Input-name suffix: "" for the first group (plain `input_ids`), `_1`, `_2`, … for the others. */
  readonly suffix: string;
  readonly tokenizer: BertTokenizer;
  /** Member indices in this group. */
  readonly members: readonly number[];
}

export interface MemberSet {
  /** The common label list every member is aligned to. */
  readonly labels: readonly string[];
  readonly members: readonly Member[];
  readonly groups: readonly TokenizerGroup[];
  close(): void;
}

export interface LoadMembersOptions {
  readonly labelMap?: LabelMap;
  /** The common label order; default: the first member's order (after the label map). */
  readonly labels?: readonly string[];
  /** Display names, one per source; default: the folder's base name. */
  readonly names?: readonly (string | undefined)[];
}

export function groupSuffix(index: number): string {
  return index === 0 ? '' : `_${index}`;
}

/** Folder names can hold anything; output names should stay plain. */
function cleanName(s: string): string {
  const c = s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[._-]+/, '');
  return c === '' ? 'member' : c;
}

function uniqueNames(wanted: readonly string[]): string[] {
  const seen = new Set<string>();
  return wanted.map((w) => {
    let n = w;
    for (let i = 2; seen.has(n); i++) n = `${w}_${i}`;
    seen.add(n);
    return n;
  });
}

/**
 * Opens every member (weights stay lazy), aligns labels by name and groups tokenizers. All
 * validation happens here, before any model runs, so a bad member fails in a second.
 */
export function loadMembers(sources: readonly string[], opts: LoadMembersOptions = {}): MemberSet {
  if (sources.length < 2) throw new BertfuseError('E_USAGE', `fusion needs at least two members, got ${sources.length}`);
  const opened: Checkpoint[] = [];
  try {
    for (const s of sources) {
      const ckpt = loadCheckpoint(s);
      opened.push(ckpt);
      if (!ckpt.config.labels) {
        throw new BertfuseError('E_UNSUPPORTED_ARCH', `${ckpt.config.architecture} has no classification head; members must be sequence classifiers (e.g. BertForSequenceClassification)`, path.join(ckpt.dir, 'config.json'));
      }
    }
    const map = opts.labelMap ?? {};
    const own = opened.map((c, i) => mapLabels(c.config.labels!, map, path.join(sources[i]!, 'config.json')));
    const target = opts.labels ? [...opts.labels] : own[0]!;
    if (new Set(target).size !== target.length) throw new BertfuseError('E_USAGE', `label list has duplicates: ${target.join(', ')}`);
    const alignments = own.map((labels, i) => alignLabels(labels, target, path.join(sources[i]!, 'config.json')));
    const names = uniqueNames(opened.map((c, i) => cleanName(opts.names?.[i] ?? c.name)));

    const groups: { tokenizer: BertTokenizer; members: number[] }[] = [];
    const groupOf = opened.map((c, i) => {
      let gi = groups.findIndex((g) => g.tokenizer.fingerprint === c.tokenizer.fingerprint);
      if (gi < 0) gi = groups.push({ tokenizer: c.tokenizer, members: [] }) - 1;
      groups[gi]!.members.push(i);
      return gi;
    });
    const members: Member[] = opened.map((c, i) => ({
      name: names[i]!,
      source: sources[i]!,
      checkpoint: c,
      ownLabels: own[i]!,
      alignment: alignments[i]!,
      group: groupOf[i]!,
    }));
    return {
      labels: target,
      members,
      groups: groups.map((g, index) => ({ index, suffix: groupSuffix(index), tokenizer: g.tokenizer, members: g.members })),
      close: () => opened.forEach((c) => c.close()),
    };
  } catch (e) {
    opened.forEach((c) => c.close());
    throw e;
  }
}

/** sha256 of a member's weight files (streamed), for the manifest. */
export function memberSha256(m: Member): string {
  return hashFiles(m.checkpoint.weightFiles);
}
