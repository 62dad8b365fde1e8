import { BertfuseError } from '../errors.js';
import { bert } from './bert.js';
import { debertaV2 } from './deberta-v2.js';
import { distilbert } from './distilbert.js';
import { electra } from './electra.js';
import { modernbert } from './modernbert.js';
import { roberta, xlmRoberta } from './roberta.js';
import type { Family, ModelConfig, Task } from './types.js';

/**
 * Every family bertfuse runs, in one explicit list (no registration by import side effect). A
 * config.json names its family by `model_type` and its head by `architectures[0]`; both must
 * agree with one entry here, or the error lists what is supported.
 */
export const FAMILIES: readonly Family[] = [bert, distilbert, roberta, xlmRoberta, electra, modernbert, debertaV2];

export function getFamily(name: string): Family {
  const f = FAMILIES.find((x) => x.name === name);
  if (!f) throw new Error(`unknown family "${name}" (known: ${FAMILIES.map((x) => x.name).join(', ')})`);
  return f;
}

/** The family of a parsed config. */
export function familyOf(cfg: ModelConfig): Family {
  return getFamily(cfg.family);
}

export function supportedArchitectures(): string[] {
  return FAMILIES.flatMap((f) => Object.keys(f.architectures));
}

function supportedModelTypes(): string[] {
  return FAMILIES.flatMap((f) => f.modelTypes);
}

/**
 * Which family a config.json describes, and which architecture/task: by `architectures[0]` when
 * present (it names the head too), checked against `model_type`; a config without `architectures`
 * (saved from a bare AutoModel) is known by `model_type` (default "bert"), and is a classifier when
 * it has id2label.
 */
export function resolveFamily(r: Readonly<Record<string, unknown>>, file: string): { family: Family; architecture: string; task: Task } {
  const modelType = r['model_type'];
  if (modelType !== undefined && typeof modelType !== 'string') throw new BertfuseError('E_BAD_CONFIG', '"model_type" must be a string', file);
  const archs = r['architectures'];
  if (archs !== undefined) {
    if (!Array.isArray(archs) || typeof archs[0] !== 'string') throw new BertfuseError('E_BAD_CONFIG', '"architectures" must be a list of names', file);
    const a = archs[0];
    const family = FAMILIES.find((f) => Object.hasOwn(f.architectures, a));
    if (!family) throw new BertfuseError('E_UNSUPPORTED_ARCH', `architecture "${a}" is not supported (supported: ${supportedArchitectures().join(', ')})`, file);
    if (modelType !== undefined && !supportedModelTypes().includes(modelType)) {
      throw new BertfuseError('E_UNSUPPORTED_ARCH', `model_type "${modelType}" is not supported (supported: ${supportedModelTypes().join(', ')})`, file);
    }
    if (modelType !== undefined && !family.modelTypes.includes(modelType)) {
      throw new BertfuseError('E_UNSUPPORTED_ARCH', `model_type "${modelType}" does not fit architecture "${a}" (expected model_type ${family.modelTypes.map((t) => `"${t}"`).join(' or ')})`, file);
    }
    return { family, architecture: a, task: family.architectures[a]! };
  }
  const type = modelType ?? 'bert';
  const family = FAMILIES.find((f) => f.modelTypes.includes(type));
  if (!family) throw new BertfuseError('E_UNSUPPORTED_ARCH', `model_type "${type}" is not supported (supported: ${supportedModelTypes().join(', ')})`, file);
  const wanted: Task = r['id2label'] ? 'classify' : 'encoder';
  const architecture = Object.keys(family.architectures).find((a) => family.architectures[a] === wanted);
  if (!architecture) throw new BertfuseError('E_UNSUPPORTED_ARCH', `config.json has no "architectures" and bertfuse has no ${wanted === 'classify' ? 'classifier' : 'bare encoder'} for model_type "${type}"`, file);
  return { family, architecture, task: wanted };
}

/** config.json object → ModelConfig of its family. */
export function parseModelConfig(raw: unknown, file: string): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BertfuseError('E_BAD_CONFIG', 'not a JSON object', file);
  const r = raw as Record<string, unknown>;
  const { family, architecture, task } = resolveFamily(r, file);
  return family.parseConfig(r, { file, architecture, task });
}
