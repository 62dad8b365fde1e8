import type { AlignmentReport } from '../align/align.js';
import type { Checkpoint } from '../checkpoint/load.js';
import type { FilteredValue, ParamValue } from './params.js';
import type { MergeRecipe } from '../recipe/merge.js';
import type { EvalRow } from './evaluate.js';
import type { MergeMethod } from './types.js';

export interface CardInfo {
  readonly name: string;
  readonly recipe: MergeRecipe;
  readonly method: MergeMethod;
  readonly members: readonly Checkpoint[];
  readonly base: Checkpoint | null;
  readonly tasks: ReadonlyArray<{ task: string; labels: readonly string[]; folder: string; output: string; members: readonly string[] }>;
  readonly alignment: readonly AlignmentReport[];
  readonly notes: readonly string[];
  readonly evaluation: readonly EvalRow[];
  readonly recipeYaml: string;
}

function scalarOrGradient(v: unknown): string {
  return Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

function value(v: ParamValue): string {
  if (!Array.isArray(v)) return String(v);
  if (v.every((e) => typeof e === 'number')) return scalarOrGradient(v);
  return (v as readonly FilteredValue[]).map((e) => (e.filter === null ? scalarOrGradient(e.value) : `${e.filter}: ${scalarOrGradient(e.value)}`)).join('; ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The README model card of a merged checkpoint: what went in, how, and how it scored. */
export function renderMergeCard(c: CardInfo): string {
  const r = c.recipe;
  const lines: string[] = [];
  lines.push('---', 'library_name: transformers', 'pipeline_tag: text-classification', 'tags:', '- bert', '- merge', '- bertfuse', '---', '');
  lines.push(`# ${c.name}`, '');
  lines.push(`A weight-space merge of ${c.members.length} BERT classifiers with **${c.method.name}** (${c.method.summary}), made by bertfuse.`);
  lines.push(c.tasks.length === 1 ? 'One encoder, one classification head.' : `One merged encoder shared by ${c.tasks.length} task heads (each member keeps its own pooler and classifier).`, '');
  lines.push('## Members', '');
  lines.push(
    table(
      ['#', 'model', 'labels', 'parameters'],
      r.models.map((m, i) => [String(i + 1), `\`${m.model}\``, (c.members[i]?.config.labels ?? []).join(', '), Object.entries(m.parameters).map(([k, v]) => `${k}=${value(v)}`).join(', ') || '–']),
    ),
    '',
  );
  if (c.base) lines.push(`Base model: \`${r.baseModel}\` (${c.base.config.architecture}).`, '');
  const globals = Object.entries(r.parameters).map(([k, v]) => `${k}=${value(v)}`);
  lines.push('## Method', '');
  lines.push(`- method: \`${c.method.name}\`${globals.length ? `, parameters: ${globals.join(', ')}` : ''}`);
  lines.push(`- defaults: ${c.method.params.map((p) => (p.default === undefined ? `${p.name} (required)` : `${p.name}=${String(p.default)}`)).join(', ') || 'none'}`);
  lines.push(`- alignment: ${r.align}; dtype: ${r.dtype}; seed: ${r.seed}`);
  if (r.texts.length) lines.push(`- unlabelled texts (statistics): ${r.texts.map((t) => `\`${t}\``).join(', ')} (at most ${r.maxTexts})`);
  lines.push('');
  if (c.alignment.length) {
    lines.push('## Alignment', '');
    for (const a of c.alignment) {
      const moved = a.groups.reduce((s, g) => s + g.moved, 0);
      const units = a.groups.reduce((s, g) => s + g.units, 0);
      const res = a.groups.find((g) => g.group === 'residual');
      lines.push(`- \`${a.source}\` → first member by ${a.method}: ${moved}/${units} units moved${res ? `; residual-stream similarity ${res.before.toFixed(3)} → ${res.after.toFixed(3)}` : ''}`);
    }
    lines.push('');
  }
  lines.push('## Outputs', '');
  lines.push(
    table(
      ['task', 'labels', 'folder', 'ONNX output'],
      c.tasks.map((t) => [t.task, t.labels.join(', '), t.folder === '' ? '(this folder)' : `\`${t.folder}/\``, `\`${t.output}\``]),
    ),
    '',
  );
  if (c.evaluation.length) {
    lines.push('## Evaluation', '');
    lines.push(table(['task', 'data', 'model', 'accuracy', 'n'], c.evaluation.map((e) => [e.task, e.file, e.model, `${(e.accuracy * 100).toFixed(2)}%`, String(e.n)])), '');
  }
  if (c.notes.length) {
    lines.push('## Notes', '', ...c.notes.map((n) => `- ${n}`), '');
  }
  lines.push('## Recipe', '', '```yaml', c.recipeYaml.trimEnd(), '```', '');
  return lines.join('\n');
}
