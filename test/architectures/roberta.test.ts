import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { PLAIN_OPS, FUSED_OPS } from '../../src/graph/bert-graph.js';
import { createSession, int64Tensor, runSession } from '../../src/runtime/session.js';
import { describeFamilyFixture, familyFixture, familyReference, referenceGraph } from './family-fixture.js';

describeFamilyFixture('roberta-sst2-a', { architecture: 'RobertaForSequenceClassification', family: 'roberta' });
describeFamilyFixture('roberta-sst2-b', { architecture: 'RobertaForSequenceClassification', family: 'roberta' });
describeFamilyFixture('roberta-mlm', { architecture: 'RobertaForMaskedLM', family: 'roberta' });

interface MlmRef {
  position: number;
  masked_input_ids: number[];
  top5_ids: number[];
  logits_first8: number[];
  logit_of_original: number;
  logsumexp: number;
  original_token_id: number;
}

const mlm = loadCheckpoint(familyFixture('roberta-mlm'));
after(() => mlm.close());

for (const [opsName, ops] of [['plain', PLAIN_OPS], ['fused', FUSED_OPS]] as const) {
  test(`roberta-mlm (${opsName}): masked-token logits, top 5 and logsumexp match the reference`, async () => {
    const ref = familyReference('roberta-mlm');
    const session = await createSession(referenceGraph(mlm, ops));
    try {
      let checked = 0;
      for (const x of ref.inputs) {
        const m = (x as unknown as { mlm: MlmRef | null }).mlm;
        if (!m) continue;
        const ids = m.masked_input_ids;
        const dims = [1, ids.length];
        const out = await runSession(session, { input_ids: int64Tensor(BigInt64Array.from(ids, BigInt), dims), attention_mask: int64Tensor(new BigInt64Array(ids.length).fill(1n), dims) }, ['logits']);
        const V = mlm.config.vocabSize;
        const row = out['logits']!.data.subarray(m.position * V, (m.position + 1) * V);
        m.logits_first8.forEach((v, j) => assert.ok(Math.abs(row[j]! - v) < 1e-4, `${x.id} logit ${j}: ${row[j]} vs ${v}`));
        assert.ok(Math.abs(row[m.original_token_id]! - m.logit_of_original) < 1e-4, `${x.id} logit of original`);
        const top5 = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 5);
        assert.deepEqual(top5, m.top5_ids, `${x.id} top 5`);
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
        assert.ok(Math.abs(lse - m.logsumexp) < 1e-3, `${x.id} logsumexp ${lse} vs ${m.logsumexp}`);
        checked++;
      }
      assert.ok(checked >= 30);
    } finally {
      await session.release();
    }
  });
}
