import type { MetricsSummary } from '../eval/result.js';
import type { CombinedManifest } from './manifest.js';

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

function mdTable(header: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string {
  const sep = header.map((_, j) => (right[j] ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The metrics table as Markdown (also used by the README section and reports). */
export function metricsMarkdown(m: MetricsSummary, exported?: string): string {
  const rows = m.rows.map((r) => [
    r.kind === 'member' ? `member \`${r.name}\`` : r.name === exported ? `**${r.name}** (this model)` : r.name,
    pct(r.accuracy),
    r.macroF1.toFixed(4),
    r.logLoss.toFixed(4),
    r.ece.toFixed(4),
    `${r.cost.toFixed(2)}×`,
    r.pareto ? '*' : '',
    r.scoring,
  ]);
  return mdTable(['model', 'accuracy', 'macro-F1', 'log-loss', 'ECE', 'cost', 'pareto', 'scored'], rows, [false, true, true, true, true, true, false, false]);
}

function protocolText(m: MetricsSummary): string {
  return m.protocol.kind === 'out-of-fold'
    ? `${m.n} rows of \`${m.data}\`; fitted methods scored out-of-fold (${m.protocol.folds} folds, seed ${m.protocol.seed}), never on rows they were fit on`
    : `${m.n} rows of \`${m.data}\` (separate evaluation data; methods were fit on other data)`;
}

/** README.md of a combined model folder: what it is, how to run it, how it scored. */
export function modelCard(man: CombinedManifest): string {
  const lines: string[] = [];
  const names = man.members.map((m) => `\`${m.name}\``).join(' + ');
  lines.push(`# Combined classifier: ${man.method.name} over ${names}`, '');
  lines.push(
    `One ONNX graph (\`${man.model.file}\`) runs ${man.members.length} BERT classifiers and fuses their outputs with \`${man.method.name}\`. ` +
      `Output \`logits\` holds fused log-probabilities (softmax gives the fused distribution); ` +
      `${man.members.map((m) => `\`${m.output}\``).join(', ')} hold each member's logits in the common label order.`,
    '',
  );
  lines.push(`Labels (column order): ${man.labels.map((l) => `\`${l}\``).join(', ')}.`, '');
  lines.push('## Use', '', '```sh', 'npx bertfuse predict <this folder> --text "some text"', '```', '');
  if (man.model.transformersLayout) {
    lines.push(
      'The members share one tokenizer, so the folder also loads in `@huggingface/transformers`:',
      '',
      '```js',
      "import { pipeline } from '@huggingface/transformers';",
      "const classify = await pipeline('text-classification', '<this folder>', { local_files_only: true });",
      "console.log(await classify('some text', { top_k: null }));",
      '```',
      '',
    );
  } else {
    // A group's inputs end in its suffix; group 0's have none (only names without a later group's suffix).
    const groupInputs = (suffix: string): string[] =>
      man.model.inputs.filter((i) => (suffix === '' ? !man.tokenizers.some((t) => t.suffix !== '' && i.endsWith(t.suffix)) : i.endsWith(suffix)));
    lines.push(`Inputs: ${man.tokenizers.map((t) => `group ${t.group} (\`${t.dir}\`): ${groupInputs(t.suffix).map((i) => `\`${i}\``).join(', ')}`).join('; ')}.`, '');
  }
  lines.push('## Members', '');
  lines.push(
    mdTable(
      ['name', 'source', 'own label order', 'tokenizer group', 'layers × hidden', 'sha256'],
      man.members.map((m) => [`\`${m.name}\``, `\`${m.source}\``, m.labels.join(', '), String(m.group), `${m.numLayers} × ${m.hiddenSize}`, `\`${m.sha256.slice(0, 16)}…\``]),
      [false, false, false, true, true, false],
    ),
    '',
  );
  lines.push('## Fusion', '', `Method \`${man.method.name}\`, options \`${JSON.stringify(man.method.options)}\`. Fitted parameters:`, '', '```json', JSON.stringify(man.method.params, null, 2), '```', '');
  if (man.metrics) {
    lines.push('## Validation', '', `On ${protocolText(man.metrics)}. Cost is inference FLOPs relative to the cheapest member; pareto * marks the best accuracy for its cost.`, '', metricsMarkdown(man.metrics, man.method.name), '');
    lines.push(`Members agree on ${pct(man.metrics.agreement)} of rows; at least one member is right on ${pct(man.metrics.oracleAccuracy)} (oracle accuracy).`, '');
    if (man.metrics.selection) lines.push(`Selection rule: ${man.metrics.selection.rule}. Winner: \`${man.metrics.selection.winner}\`: ${man.metrics.selection.reason}.`, '');
  }
  lines.push(`Written by bertfuse ${man.tool.version} (format ${man.format} v${man.formatVersion}).`, '');
  return lines.join('\n');
}
