import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { PredictResponse } from '../../src/serve/server.js';
import { DATA } from '../helpers/fixtures.js';

/* Clients of a `bertfuse serve` started by serveCli (test/helpers/serve.ts). */

/** POST /v1/predict, `texts` sent in requests of at most `perRequest` (default: the default --max-texts, 64), answers in order. */
export async function predictOver(url: string, texts: readonly string[], perRequest = 64): Promise<PredictResponse> {
  let first: PredictResponse | null = null;
  const predictions: PredictResponse['predictions'][number][] = [];
  for (let at = 0; at < texts.length; at += perRequest) {
    const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: texts.slice(at, at + perRequest) }) });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as PredictResponse;
    first ??= body;
    predictions.push(...body.predictions);
  }
  assert.ok(first);
  return { model: first.model, labels: first.labels, predictions };
}

export async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The `bertfuse_model_info` sample line of /metrics. */
export async function modelInfo(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('bertfuse_model_info{'));
  assert.ok(line, text);
  return line;
}

/** The 872 SST-2 dev sentences (data/sst2_dev.tsv: label, text). */
export function sst2DevTexts(): string[] {
  return fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1).filter((l) => l !== '').map((l) => l.split('\t')[1]!);
}

/** log(p1 / p0) of a two-label answer: the logit margin, which int8 error bounds are stated on. */
export function margin(probs: Readonly<Record<string, number>>, labels: readonly string[]): number {
  return Math.log(probs[labels[1]!]! / probs[labels[0]!]!);
}
