import protobuf from 'protobufjs';
import { BertfuseError } from '../errors.js';

/*
 * SentencePiece's model file (`sentencepiece.bpe.model`, `spm.model`) is one protobuf message,
 * `sentencepiece.ModelProto` (sentencepiece_model.proto). The schema below names only the fields
 * bertfuse reads, with their field numbers and proto2 defaults; protobufjs skips the others
 * (training options, self-test data) as any protobuf reader does.
 */
const SCHEMA = `
syntax = "proto2";
package sentencepiece;
message TrainerSpec {
  enum ModelType { UNIGRAM = 1; BPE = 2; WORD = 3; CHAR = 4; }
  optional ModelType model_type = 3 [default = UNIGRAM];
  optional bool byte_fallback = 35 [default = false];
  optional int32 unk_id = 40 [default = 0];
  optional int32 bos_id = 41 [default = 1];
  optional int32 eos_id = 42 [default = 2];
  optional int32 pad_id = 43 [default = -1];
  optional string unk_piece = 45 [default = "<unk>"];
  optional string bos_piece = 46 [default = "<s>"];
  optional string eos_piece = 47 [default = "</s>"];
  optional string pad_piece = 48 [default = "<pad>"];
}
message NormalizerSpec {
  optional string name = 1;
  optional bytes precompiled_charsmap = 2;
  optional bool add_dummy_prefix = 3 [default = true];
  optional bool remove_extra_whitespaces = 4 [default = true];
  optional bool escape_whitespaces = 5 [default = true];
}
message ModelProto {
  message SentencePiece {
    enum Type { NORMAL = 1; UNKNOWN = 2; CONTROL = 3; USER_DEFINED = 4; UNUSED = 5; BYTE = 6; }
    optional string piece = 1;
    optional float score = 2;
    optional Type type = 3 [default = NORMAL];
  }
  repeated SentencePiece pieces = 1;
  optional TrainerSpec trainer_spec = 2;
  optional NormalizerSpec normalizer_spec = 3;
}
`;

/** SentencePiece.Type values. */
export const PIECE_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
/** TrainerSpec.ModelType values. */
export const MODEL_TYPE = { unigram: 1, bpe: 2, word: 3, char: 4 } as const;

export interface SentencePiece {
  readonly piece: string;
  readonly score: number;
  readonly type: number;
}

export interface SentencePieceModel {
  readonly pieces: readonly SentencePiece[];
  readonly trainer: {
    readonly modelType: number;
    readonly byteFallback: boolean;
    readonly unkId: number;
    readonly bosId: number;
    readonly eosId: number;
    readonly padId: number;
    readonly unkPiece: string;
    readonly bosPiece: string;
    readonly eosPiece: string;
    readonly padPiece: string;
  };
  readonly normalizer: {
    readonly name: string;
    /** Empty when the model normalizes nothing (identity). */
    readonly precompiledCharsmap: Uint8Array;
    readonly addDummyPrefix: boolean;
    readonly removeExtraWhitespaces: boolean;
  };
}

let modelType: protobuf.Type | null = null;

function schema(): protobuf.Type {
  modelType ??= protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('sentencepiece.ModelProto');
  return modelType;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The ModelProto in `bytes`. A file that is not one (truncated, another format, no pieces, an empty
 * or repeated piece) is refused in one line naming `file`.
 */
export function readSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  let raw: Obj;
  try {
    // defaults: proto2 defaults for fields the file leaves out (pad_id -1, add_dummy_prefix true…).
    raw = schema().toObject(schema().decode(bytes), { defaults: true, longs: Number, bytes: Array }) as Obj;
  } catch (e) {
    throw new BertfuseError('E_BAD_TOKENIZER', `not a SentencePiece model: the protobuf does not decode (${(e as Error).message})`, file);
  }
  const pieces = Array.isArray(raw['pieces']) ? raw['pieces'] : [];
  if (pieces.length === 0) throw new BertfuseError('E_BAD_TOKENIZER', 'not a SentencePiece model: it has no pieces', file);
  const seen = new Set<string>();
  const out = pieces.map((p, i): SentencePiece => {
    const piece = isObj(p) ? p['piece'] : undefined;
    const score = isObj(p) ? p['score'] : undefined;
    if (typeof piece !== 'string' || piece === '') throw new BertfuseError('E_BAD_TOKENIZER', `not a SentencePiece model: piece ${i} is empty`, file);
    if (typeof score !== 'number' || !Number.isFinite(score)) throw new BertfuseError('E_BAD_TOKENIZER', `piece ${i} ${JSON.stringify(piece)} has no finite score`, file);
    if (seen.has(piece)) throw new BertfuseError('E_BAD_TOKENIZER', `piece ${JSON.stringify(piece)} appears twice (ids must name distinct pieces)`, file);
    seen.add(piece);
    return { piece, score, type: Number((p as Obj)['type']) };
  });
  const t = isObj(raw['trainer_spec']) ? raw['trainer_spec'] : {};
  const n = isObj(raw['normalizer_spec']) ? raw['normalizer_spec'] : {};
  const charsmap = n['precompiled_charsmap'];
  return {
    pieces: out,
    trainer: {
      modelType: Number(t['model_type'] ?? MODEL_TYPE.unigram),
      byteFallback: t['byte_fallback'] === true,
      unkId: Number(t['unk_id'] ?? 0),
      bosId: Number(t['bos_id'] ?? 1),
      eosId: Number(t['eos_id'] ?? 2),
      padId: Number(t['pad_id'] ?? -1),
      unkPiece: String(t['unk_piece'] ?? '<unk>'),
      bosPiece: String(t['bos_piece'] ?? '<s>'),
      eosPiece: String(t['eos_piece'] ?? '</s>'),
      padPiece: String(t['pad_piece'] ?? '<pad>'),
    },
    normalizer: {
      name: String(n['name'] ?? ''),
      precompiledCharsmap: Uint8Array.from(Array.isArray(charsmap) ? (charsmap as number[]) : []),
      addDummyPrefix: n['add_dummy_prefix'] !== false,
      removeExtraWhitespaces: n['remove_extra_whitespaces'] !== false,
    },
  };
}
