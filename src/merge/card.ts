import type { AlignmentReport } from '../align/align.js';
import type { Checkpoint } from '../checkpoint/load.js';
import type { FilteredValue, ParamValue } from './params.js';
import type { MergeRecipe } from '../recipe/merge.js';
import type { EvalRow } from './evaluate.js';
import type { QuantizeReport } from '../graph/quantize.js';
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
  /** What the int8 pass replaced in model.onnx; null when model.onnx is float32 or absent. */
  readonly quantized: QuantizeReport | null;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** The `## Quantization` section: what is int8 in model.onnx, what stays float, how to run it, and how far it agrees with float32 (when measured). */
function quantizationSection(c: CardInfo, q: QuantizeReport): string[] {
  const multi = c.tasks.some((t) => t.folder !== '');
  const products = [`${q.matmuls} matrix product${q.matmuls === 1 ? '' : 's'}`, ...(q.attentions ? [`${q.attentions} attention block${q.attentions === 1 ? '' : 's'}`] : [])].join(' and ');
  const lines = [
    '## Quantization',
    '',
    `\`model.onnx\` is **dynamically int8-quantised** (\`quantize: int8\`): the encoder layers' linear products (${products}) hold int8 weights, symmetric with one scale per output column (7-bit range, ±63, so CPUs without VNNI cannot saturate), and quantise their inputs to uint8 per tensor at run time. ` +
      `Those weights went from ${mb(q.bytesBefore)} of float32 to ${mb(q.bytesAfter)} (int8 + scales). ` +
      `Embeddings, LayerNorms and ${multi ? "every task's head" : 'the head'} (pooler, classifier) stay float32, and so do the safetensors (dtype ${c.recipe.dtype}): ${multi ? 'each task folder' : 'this folder'} loads as a float model in transformers.`,
    '',
    multi
      ? '`bertfuse predict <this folder>` runs this int8 graph with every task\'s head (`--task <name>` answers with one, as `bertfuse serve <this folder> --task <name>` does); a task folder runs float32.'
      : '`bertfuse predict <this folder>/model.onnx` runs this int8 graph; `bertfuse predict <this folder>` builds the float32 graph from the safetensors (`--quantize int8` builds this int8 one).',
    '',
  ];
  const int8 = c.evaluation.filter((e) => e.kind === 'merged-int8');
  if (int8.length === 0) {
    lines.push('Agreement with the float32 merge was not measured by this merge (`bertfuse merge ... --eval-data <file>` measures it).', '');
    return lines;
  }
  lines.push('Measured on the evaluation data (the same rows as the Evaluation table):', '');
  lines.push(
    table(
      ['task', 'data', 'same label as float32', 'accuracy int8', 'accuracy float32', 'n'],
      int8.map((e) => {
        const float = c.evaluation.find((f) => f.kind === 'merged' && f.task === e.task && f.file === e.file);
        return [e.task, e.file, pct(e.agreement ?? 0), pct(e.accuracy), float ? pct(float.accuracy) : '–', String(e.n)];
      }),
    ),
    '',
  );
  return lines;
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
  lines.push('---', 'library_name: transformers', 'pipeline_tag: text-classification', 'tags:', '- bert', '- merge', '- bertfuse', ...(c.quantized ? ['- int8'] : []), '---', '');
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
  lines.push(`- alignment: ${r.align}; dtype: ${r.dtype}; seed: ${r.seed}${c.quantized ? '; model.onnx: int8 (see Quantization)' : ''}`);
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
    lines.push(table(['task', 'data', 'model', 'accuracy', 'n'], c.evaluation.map((e) => [e.task, e.file, e.model, pct(e.accuracy), String(e.n)])), '');
  }
  if (c.quantized) lines.push(...quantizationSection(c, c.quantized));
  if (c.notes.length) {
    lines.push('## Notes', '', ...c.notes.map((n) => `- ${n}`), '');
  }
  lines.push('## Recipe', '', '```yaml', c.recipeYaml.trimEnd(), '```', '');
  return lines.join('\n');
}
