/*
 * Prometheus text exposition (format 0.0.4) for the few series the server keeps: counters and
 * histograms with labels. Small enough to write by hand; label values are escaped per the format.
 */

type Labels = Readonly<Record<string, string>>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (extra) pairs.push(extra);
  return pairs.length === 0 ? '' : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(15)));
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const cur = this.values.get(k);
    if (cur) cur.value += by;
    else this.values.set(k, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels))?.value ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${num(value)}`);
    return lines.join('\n');
  }
}

export class Gauge implements Metric {
  private readonly read: () => number;
  constructor(
    readonly name: string,
    readonly help: string,
    read: () => number,
    private readonly labels: Labels = {},
  ) {
    this.read = read;
  }
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name}${labelText(this.labels)} ${num(this.read())}`].join('\n');
  }
}

interface Series {
  labels: Labels;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram implements Metric {
  private readonly series = new Map<string, Series>();
  readonly buckets: readonly number[];
  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
  ) {
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(value: number, labels: Labels = {}): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    let i = this.buckets.findIndex((b) => value <= b);
    if (i < 0) i = this.buckets.length;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      let acc = 0;
      this.buckets.forEach((b, i) => {
        acc += s.counts[i]!;
        lines.push(`${this.name}_bucket${labelText(s.labels, ['le', num(b)])} ${acc}`);
      });
      lines.push(`${this.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
}

/** The series the prediction server exports. */
export function serverMetrics(model: { name: string; labels: readonly string[]; quantize?: string | null }, queued: () => number): {
  registry: Registry;
  requests: Counter;
  latency: Histogram;
  batchSize: Histogram;
  inference: Histogram;
  inputs: Counter;
  errors: Counter;
} {
  const registry = new Registry();
  const requests = registry.add(new Counter('bertfuse_http_requests_total', 'HTTP requests by route, method and status code.'));
  const latency = registry.add(new Histogram('bertfuse_http_request_duration_seconds', 'Time from request received to response sent, by route.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]));
  const batchSize = registry.add(new Histogram('bertfuse_batch_size', 'Inputs per model run (micro-batches after merging requests).', [1, 2, 4, 8, 16, 32, 64, 128, 256]));
  const inference = registry.add(new Histogram('bertfuse_inference_duration_seconds', 'Time of one model run over a micro-batch.', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]));
  const inputs = registry.add(new Counter('bertfuse_inputs_total', 'Texts (or pairs) classified.'));
  const errors = registry.add(new Counter('bertfuse_errors_total', 'Failed requests by error code.'));
  registry.add(new Gauge('bertfuse_queue_inputs', 'Inputs waiting for the next micro-batch.', queued));
  // quantize="int8" only for an int8 graph (Prometheus reads an empty label as no label).
  registry.add(new Gauge('bertfuse_model_info', 'The model being served.', () => 1, { model: model.name, labels: model.labels.join(','), ...(model.quantize ? { quantize: model.quantize } : {}) }));
  return { registry, requests, latency, batchSize, inference, inputs, errors };
}
