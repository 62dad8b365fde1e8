import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { isBertfuseError } from '../../src/errors.js';
import { tempDir } from '../helpers/fixtures.js';
import { describeFamilyFixture, familyFixture } from './family-fixture.js';

describeFamilyFixture('distilbert-sst2', { architecture: 'DistilBertForSequenceClassification', family: 'distilbert' });

function copy(name: string): string {
  const dir = path.join(tempDir(), name);
  fs.cpSync(familyFixture(name), dir, { recursive: true });
  return dir;
}

function refused(dir: string, code: string, pattern: RegExp, file: string): void {
  assert.throws(() => loadCheckpoint(dir), (e: unknown) => {
    assert.ok(isBertfuseError(e), String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(path.join(dir, file)), `names ${file}: ${e.message}`);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

test('a DistilBERT config with only BERT field names is refused in one line naming config.json', () => {
  const dir = copy('distilbert-sst2');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const [d, b] of [['dim', 'hidden_size'], ['n_layers', 'num_hidden_layers'], ['n_heads', 'num_attention_heads'], ['hidden_dim', 'intermediate_size']] as const) {
    cfg[b] = cfg[d];
    delete cfg[d];
  }
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  refused(dir, 'E_BAD_CONFIG', /DistilBERT config names its sizes dim \/ n_layers/, 'config.json');
});

test('a byte-level BPE tokenizer.json in a DistilBERT folder is refused naming tokenizer.json', () => {
  const dir = copy('distilbert-sst2');
  fs.copyFileSync(path.join(familyFixture('roberta-sst2-a'), 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  refused(dir, 'E_BAD_TOKENIZER', /tokenizer model type "BPE" is not supported for a distilbert model \(distilbert uses "WordPiece"\)/, 'tokenizer.json');
});

test('vocab_size in config.json that disagrees with the weights is refused naming the weights file', () => {
  const dir = copy('distilbert-sst2');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  cfg['vocab_size'] = 9000;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  refused(dir, 'E_SHAPE_MISMATCH', /word_embeddings\.weight" has shape \[8192, 64\] but config\.json implies \[9000, 64\]/, 'model.safetensors');
});
