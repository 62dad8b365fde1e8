import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { combine } from '../api/combine.js';
import { BertfuseError } from '../errors.js';
import type { DataSpec } from '../eval/prepare.js';
import { findFusionMethod, FUSION_METHODS } from '../fusion/registry.js';
import type { LabelMap } from '../members/labels.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { loadTeacher, type Teacher } from './teacher.js';

export interface FittedTeacherSpec {
  readonly members: readonly string[];
  /** A fusion method other than `mean` (any name or alias of the registry). */
  readonly method: string;
  /** Its parameters (`-p name=value`, e.g. weighted's `weights`). */
  readonly params?: Readonly<Record<string, string | number | boolean>>;
  /** Labelled rows the method is fitted on (distill's labelled transfer rows). */
  readonly data: DataSpec | undefined;
  readonly labels?: readonly string[] | null;
  readonly labelMap?: LabelMap;
  readonly runtime: RuntimeOptions;
}

/**
 * Members + any fusion method as a teacher: exactly what `bertfuse combine -m <method>` would write
 * (fitted on the labelled rows, one graph running every member with its own tokenizer), built in a
 * temporary folder that is removed when the teacher closes. Its manifest names the members, so the
 * scoring table still shows them beside the teacher and the student.
 */
export async function fittedTeacher(spec: FittedTeacherSpec): Promise<Teacher> {
  const known = findFusionMethod(FUSION_METHODS, spec.method);
  if (!known) throw new BertfuseError('E_USAGE', `unknown fusion method "${spec.method}" for the teacher (known: ${FUSION_METHODS.map((m) => m.name).join(', ')})`);
  if (!spec.data) {
    throw new BertfuseError('E_USAGE', `the teacher's method ${known.name} is fitted on labelled rows: give --data <labelled file> (its rows fit the teacher and train the student), or build the teacher with \`bertfuse combine -m ${known.name}\` and pass its folder`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-distill-teacher-'));
  const cleanup = (): void => fs.rmSync(tmp, { recursive: true, force: true });
  try {
    const r = await combine(
      { members: [...spec.members], data: spec.data, method: known.name, options: spec.params ?? {}, labels: spec.labels ?? null, labelMap: spec.labelMap ?? {}, out: path.join(tmp, 'teacher') },
      { runtime: spec.runtime },
    );
    const inner = await loadTeacher([r.out], undefined, spec.runtime, spec.labelMap ?? {});
    return {
      ...inner,
      name: `${known.name}(${spec.members.map((m) => path.basename(path.resolve(m))).join(', ')})`,
      method: known.name,
      members: [...spec.members],
      close: async () => {
        await inner.close();
        cleanup();
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}
