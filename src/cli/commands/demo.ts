import type { Command } from 'commander';
import { loadClassifier } from '../../runtime/classifier.js';
import { predict } from '../../runtime/predict.js';
import { bundledFixture } from '../../paths.js';
import { printLine } from '../output.js';
import { renderTable } from '../table.js';

const SENTENCES = [
  'a gorgeous , witty , seductive movie .',
  'one long string of cliches .',
  'the acting is fine but the script is a mess .',
  'an unexpectedly moving and funny film .',
];

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the bundled models end to end')
    .option('-q, --quiet', 'no progress bars')
    .action(async () => {
      const members = ['sst2-sibling-a', 'sst2-stranger-b'];
      for (const m of members) {
        const model = await loadClassifier(bundledFixture(m));
        try {
          const preds = await predict(model, SENTENCES.map((text) => ({ text })));
          printLine(`\n${m} (labels in config order: ${model.labels.join(', ')})`);
          printLine(renderTable(['label', 'p(positive)', 'text'], preds.map((p, i) => [p.label, p.probs['positive']!, SENTENCES[i]!])));
        } finally {
          await model.close();
        }
      }
    });
}
