import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isOneLineError } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { cliInProcess } from '../reliability/in-process.js';
import { familyFixture } from './family-fixture.js';

/**
 * Bad family folders, each refused by `bertfuse inspect` in one line that names the file at fault:
 * a family bertfuse does not run (the line lists those it does), a tokenizer.json of another
 * family's model type, vocabulary sizes that disagree (tokenizer vs config.json vs the embedding
 * tensor), a DistilBERT config in BERT's field names, and the DeBERTa forms bertfuse does not run.
 */

type Json = Record<string, unknown>;

interface Case {
  readonly name: string;
  readonly fixture: string;
  /** Breaks the copied folder; returns the file the error must name. */
  readonly mutate: (dir: string) => string;
  readonly pattern: RegExp;
}

function editJson(file: string, edit: (j: Json) => void): string {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  edit(j);
  fs.writeFileSync(file, JSON.stringify(j, null, 2));
  return file;
}
const config = (edit: (c: Json) => void) => (dir: string): string => editJson(path.join(dir, 'config.json'), edit);
const tokenizerFrom = (other: string) => (dir: string): string => {
  const f = path.join(dir, 'tokenizer.json');
  fs.copyFileSync(path.join(familyFixture(other), 'tokenizer.json'), f);
  return f;
};
/** One added token at id = vocab_size: the tokenizer can emit an id the embedding table lacks. */
const tokenizerBeyondConfig = (dir: string): string => {
  const vocab = (JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Json)['vocab_size'] as number;
  return editJson(path.join(dir, 'tokenizer.json'), (j) => {
    (j['added_tokens'] as Json[]).push({ id: vocab, content: '<extra_0>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  });
};
const weightsFile = (dir: string): string => path.join(dir, 'model.safetensors');

const ALL = ['DistilBertForSequenceClassification', 'RobertaForSequenceClassification', 'XLMRobertaForSequenceClassification', 'ElectraForSequenceClassification', 'ModernBertForSequenceClassification', 'DebertaV2ForSequenceClassification'];
const EMBEDDINGS: Record<string, string> = {
  'distilbert-sst2': 'distilbert.embeddings.word_embeddings.weight',
  'roberta-sst2-a': 'roberta.embeddings.word_embeddings.weight',
  'xlmr-sst2': 'roberta.embeddings.word_embeddings.weight',
  'electra-sst2': 'electra.embeddings.word_embeddings.weight',
  'modernbert-sst2': 'model.embeddings.tok_embeddings.weight',
  'deberta-sst2': 'deberta.embeddings.word_embeddings.weight',
};
// Each family's tokenizer model, and a fixture whose tokenizer.json has another one.
const WRONG_TOKENIZER: Record<string, [string, string, string]> = {
  'distilbert-sst2': ['distilbert', 'WordPiece', 'xlmr-sst2'],
  'roberta-sst2-a': ['roberta', 'BPE', 'xlmr-sst2'],
  'xlmr-sst2': ['xlm-roberta', 'Unigram', 'roberta-sst2-a'],
  'electra-sst2': ['electra', 'WordPiece', 'deberta-sst2'],
  'modernbert-sst2': ['modernbert', 'BPE', 'electra-sst2'],
  'deberta-sst2': ['deberta-v2', 'Unigram', 'modernbert-sst2'],
};
const MODEL_TYPE: Record<string, string> = { 'electra-sst2': 'Unigram', 'modernbert-sst2': 'WordPiece', 'deberta-sst2': 'BPE', 'distilbert-sst2': 'Unigram', 'roberta-sst2-a': 'Unigram', 'xlmr-sst2': 'BPE' };

const CASES: Case[] = [
  {
    name: 'an ALBERT classifier: the line lists every supported architecture',
    fixture: 'roberta-sst2-a',
    mutate: config((c) => {
      c['architectures'] = ['AlbertForSequenceClassification'];
      c['model_type'] = 'albert';
    }),
    pattern: new RegExp(`architecture "AlbertForSequenceClassification" is not supported \\(supported: .*${ALL.join('.*')}`),
  },
  {
    name: 'a config with only model_type "albert": the line lists every supported model_type',
    fixture: 'deberta-sst2',
    mutate: config((c) => {
      delete c['architectures'];
      c['model_type'] = 'albert';
    }),
    pattern: /model_type "albert" is not supported \(supported: bert, distilbert, roberta, xlm-roberta, electra, modernbert, deberta-v2\)/,
  },
  {
    name: 'architectures and model_type of two families',
    fixture: 'xlmr-sst2',
    mutate: config((c) => (c['model_type'] = 'roberta')),
    pattern: /model_type "roberta" does not fit architecture "XLMRobertaForSequenceClassification" \(expected model_type "xlm-roberta"\)/,
  },
  ...Object.entries(WRONG_TOKENIZER).map(([fixture, [family, model, other]]): Case => ({
    name: `${fixture}: tokenizer.json of ${other} (${MODEL_TYPE[fixture]})`,
    fixture,
    mutate: tokenizerFrom(other),
    pattern: new RegExp(`tokenizer model type "${MODEL_TYPE[fixture]}" is not supported for a ${family} model \\(${family} uses "${model}"\\)`),
  })),
  ...Object.entries(EMBEDDINGS).flatMap(([fixture, tensor]): Case[] => [
    {
      name: `${fixture}: config.json's vocab_size one larger than the embedding tensor`,
      fixture,
      mutate: (dir) => (config((c) => (c['vocab_size'] = (c['vocab_size'] as number) + 1))(dir), weightsFile(dir)),
      pattern: new RegExp(`tensor "${tensor.replace(/\./g, '\\.')}" has shape \\[(\\d+), (\\d+)\\] but config\\.json implies \\[\\d+, \\2\\]`),
    },
    {
      name: `${fixture}: a tokenizer that can emit an id past config.json's vocab_size`,
      fixture,
      mutate: tokenizerBeyondConfig,
      pattern: /tokenizer can produce ids up to (\d+) but the model's vocab_size is \1 \(embedding table too small/,
    },
  ]),
  {
    name: 'a DistilBERT config in BERT\'s field names only',
    fixture: 'distilbert-sst2',
    mutate: config((c) => {
      for (const [d, b] of [['dim', 'hidden_size'], ['n_layers', 'num_hidden_layers'], ['n_heads', 'num_attention_heads'], ['hidden_dim', 'intermediate_size']] as const) {
        c[b] = c[d];
        delete c[d];
      }
    }),
    pattern: /a DistilBERT config names its sizes dim \/ n_layers \/ n_heads \/ hidden_dim, but this one has BERT's hidden_size/,
  },
  { name: 'DeBERTa share_att_key: false', fixture: 'deberta-sst2', mutate: config((c) => (c['share_att_key'] = false)), pattern: /share_att_key: false \(separate pos_key_proj\/pos_query_proj\) is not supported \(bertfuse runs the DeBERTa-v3 form/ },
  { name: 'DeBERTa with a conv layer (conv_kernel_size 3)', fixture: 'deberta-sst2', mutate: config((c) => (c['conv_kernel_size'] = 3)), pattern: /conv_kernel_size > 0 is not supported \(bertfuse runs the DeBERTa-v3 form/ },
  { name: 'DeBERTa embedding_size different from hidden_size', fixture: 'deberta-sst2', mutate: config((c) => (c['embedding_size'] = 32)), pattern: /embedding_size different from hidden_size is not supported \(bertfuse runs the DeBERTa-v3 form/ },
];

for (const c of CASES) {
  test(`${c.name}: one line naming the file`, async () => {
    const dir = path.join(tempDir(), c.fixture);
    fs.cpSync(familyFixture(c.fixture), dir, { recursive: true });
    const file = c.mutate(dir);
    const r = await cliInProcess(['inspect', dir]);
    assert.ok(isOneLineError(r), `not one line: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`bertfuse: ${file}: `), `names ${path.basename(file)}: ${r.stderr}`);
    assert.match(r.stderr, c.pattern);
    assert.equal(r.stdout, '');
  });
}
