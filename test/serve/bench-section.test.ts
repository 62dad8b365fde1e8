import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { writeServerSection } from '../../bench/serve-load.js';
import { tempDir } from '../helpers/fixtures.js';

test('the load test rewrites only the ## Server section of BENCHMARKS.md', () => {
  const file = path.join(tempDir(), 'BENCHMARKS.md');
  writeServerSection(file, '## Server\n\nfirst\n');
  assert.equal(fs.readFileSync(file, 'utf8'), '# Benchmarks\n\n## Server\n\nfirst\n');
  fs.writeFileSync(file, '# Benchmarks\n\n## Speed\n\nkeep me\n\n## Server\n\nold\nlines\n\n## Memory\n\nkeep me too\n');
  writeServerSection(file, '## Server\n\nnew\n');
  assert.equal(fs.readFileSync(file, 'utf8'), '# Benchmarks\n\n## Speed\n\nkeep me\n\n## Server\n\nnew\n\n## Memory\n\nkeep me too\n');
  fs.writeFileSync(file, '# Benchmarks\n\n## Speed\n\nkeep me\n');
  writeServerSection(file, '## Server\n\nappended\n');
  assert.equal(fs.readFileSync(file, 'utf8'), '# Benchmarks\n\n## Speed\n\nkeep me\n\n## Server\n\nappended\n');
});
