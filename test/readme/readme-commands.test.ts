// Every shell command in README.md runs as written, in order, from a fresh copy of the project.
// `npx bertfuse …` / `bertfuse …` lines must exit 0; `curl` lines talk to the `bertfuse serve` started
// just before them; ```console blocks are transcripts: `$ ` lines run and the lines after them must
// appear in the output. Only the install/test/bench lines in SKIP are not run (they are what runs
// this test, or take minutes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliEntry } from '../helpers/cli.js';
import { ROOT, tempDir } from '../helpers/fixtures.js';
import { CLEAN_EXIT, startServe, type ServeProcess } from '../helpers/serve.js';

const SKIP = [/^npm (ci|install|test)\b/, /^npm run bench\b/];
/** A folder made from shipped files for the commands after it: one plain `mkdir -p` or `cp` (no chaining, pipes or redirection). */
const FILE_SETUP = /^(mkdir -p|cp) [\w./{},-]+( [\w./{},-]+)*(\s+#.*)?$/;

interface Block {
  readonly lang: string;
  readonly line: number; // README line of the opening fence
  readonly lines: readonly string[];
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    out.push({ lang: open[1]!, line: start + 1, lines: body });
  }
  return out;
}

/** Shell lines of a block: continuations joined, blank and comment-only lines dropped. */
function commands(b: Block): string[] {
  const joined: string[] = [];
  let cur = '';
  for (const l of b.lines) {
    if (l.endsWith('\\')) cur += l.slice(0, -1) + ' ';
    else {
      joined.push(cur + l);
      cur = '';
    }
  }
  return joined.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const BLOCKS = blocks(README);
let work = '';
let env: NodeJS.ProcessEnv = {};
const started = Date.now();

function sh(cmd: string): { code: number | null; out: string } {
  // Generous: the demo takes ~10 s alone, minutes on a loaded 2-core machine.
  const r = spawnSync('bash', ['-c', cmd], { cwd: work, env, encoding: 'utf8', timeout: 900_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

before(() => {
  // A fresh clone's view: the tracked project files, a writable working directory for outputs.
  work = tempDir('bertfuse-readme-');
  for (const name of ['package.json', 'tsconfig.json', 'node_modules', 'src', 'bin', 'fixtures', 'data', 'examples']) {
    fs.symlinkSync(path.join(ROOT, name), path.join(work, name));
  }
  // `npx bertfuse` and `bertfuse` run this checkout's CLI as test/helpers/cli.ts does: the dist/ the
  // test runner has just built, or the source through tsx — never a stale dist/.
  const shims = path.join(work, '.shims');
  fs.mkdirSync(shims);
  const entry = cliEntry().map((a) => `"${a}"`).join(' ');
  fs.writeFileSync(path.join(shims, 'bertfuse'), `#!/bin/sh\nexec "${process.execPath}" ${entry} "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(shims, 'npx'), '#!/bin/sh\n[ "$1" = bertfuse ] || { echo "README test: only npx bertfuse is run" >&2; exit 127; }\nshift\nexec bertfuse "$@"\n', { mode: 0o755 });
  env = { ...process.env, PATH: `${shims}:${process.env['PATH']}`, HF_HUB_OFFLINE: '1', NODE_OPTIONS: '' };
});

describe('README commands run as written', () => {
  it('every shell line is one the test knows how to run', () => {
    for (const b of BLOCKS.filter((b) => b.lang === 'sh' && !isScript(b))) {
      for (const c of commands(b)) {
        const known = SKIP.some((re) => re.test(c)) || /^(npx )?bertfuse /.test(c) || /^curl /.test(c) || FILE_SETUP.test(c);
        assert.ok(known, `README.md:${b.line}: a shell line the README test does not run: ${c}`);
      }
    }
  });

  it('the shipped example files are the ones the README shows', () => {
    const recipe = BLOCKS.find((b) => b.lang === 'yaml' && b.lines[0]?.startsWith('# examples/recipe.yaml'));
    assert.ok(recipe, 'README shows examples/recipe.yaml');
    assert.equal(fs.readFileSync(path.join(ROOT, 'examples/recipe.yaml'), 'utf8'), recipe.lines.join('\n') + '\n');
    for (const f of README.matchAll(/\bexamples\/[\w.-]+/g)) assert.ok(fs.existsSync(path.join(ROOT, f[0])), `README names ${f[0]}, which is not shipped`);
  });

  it('every npx bertfuse / bertfuse / curl line exits 0, in README order', { timeout: 3_600_000 }, async (t) => {
    const diagnostic = (s: string): void => t.diagnostic(s);
    let ran = 0;
    const done = new Set<string>();
    for (const b of BLOCKS) {
      if (b.lang === 'console') {
        ran += transcript(b);
        continue;
      }
      if (b.lang === 'js') {
        snippet(b);
        ran++;
        continue;
      }
      if (b.lang !== 'sh') continue;
      if (isScript(b)) {
        // A block that starts a server in the background (`&` … `kill %1`) runs as one script, on a free port.
        const port = String(18_000 + (process.pid % 10_000));
        const r = sh(b.lines.join('\n').replaceAll('8080', port));
        assert.equal(r.code, 0, `README.md:${b.line}: the block as a script\n${r.out}`);
        ran++;
        continue;
      }
      let server: ServeProcess | null = null;
      try {
        for (const c of commands(b)) {
          if (SKIP.some((re) => re.test(c))) continue;
          // The README shows `npx bertfuse demo` twice; once proves it (and saves a minute on 2 cores).
          if (done.has(c.replace(/\s+#.*$/, ''))) continue;
          done.add(c.replace(/\s+#.*$/, ''));
          const t0 = Date.now();
          if (/^(npx )?bertfuse serve /.test(c)) {
            server = await startServer(c);
          } else if (/^curl /.test(c)) {
            assert.ok(server, `README.md:${b.line}: curl without a bertfuse serve before it in the block`);
            const r = sh(c.replaceAll('localhost:8080', new URL(server.url).host).replaceAll('curl -s ', 'curl -sS --fail-with-body '));
            assert.equal(r.code, 0, `README.md:${b.line}: ${c}\n${r.out}`);
          } else {
            const r = sh(c);
            assert.equal(r.code, 0, `README.md:${b.line}: ${c}\n${r.out}`);
          }
          ran++;
          diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s  ${c}`);
        }
      } finally {
        if (server) assert.deepEqual(await server.stop(), CLEAN_EXIT, `README.md:${b.line}: bertfuse serve exits 0 on SIGTERM`);
      }
    }
    assert.ok(ran >= 20, `ran ${ran} README commands`);
  });
});

/** A block written as a script: it puts a command in the background and stops it itself. */
function isScript(b: Block): boolean {
  return b.lines.some((l) => /&\s*(#.*)?$/.test(l.trim()) && !/&&\s*$/.test(l.trim()));
}

/** A ```console block: `$ cmd` then the lines it prints. An output starting "bertfuse: " is an error: exit 1. */
function transcript(b: Block): number {
  let n = 0;
  for (let i = 0; i < b.lines.length; i++) {
    const l = b.lines[i]!;
    if (!l.startsWith('$ ')) continue;
    const expected: string[] = [];
    for (let j = i + 1; j < b.lines.length && !b.lines[j]!.startsWith('$ '); j++) if (b.lines[j]!.trim()) expected.push(b.lines[j]!.trim());
    const r = sh(l.slice(2));
    const error = expected.some((e) => e.startsWith('bertfuse: '));
    assert.equal(r.code, error ? 1 : 0, `README.md:${b.line}: ${l}\n${r.out}`);
    for (const e of expected) {
      // The README shortens long paths and lists with "…".
      const parts = e.split('…').map((p) => p.trim()).filter(Boolean);
      let at = 0;
      for (const p of parts) {
        const k = r.out.indexOf(p, at);
        assert.ok(k >= 0, `README.md:${b.line}: "${l}" should print "${p}"; it printed:\n${r.out}`);
        at = k + p.length;
      }
    }
    n++;
  }
  return n;
}

/**
 * The transformers.js snippet, saved as the comment in it says and run with node: it prints every
 * label's score, and they equal `bertfuse predict` on the same folder within 1e-4.
 */
function snippet(b: Block): void {
  const code = b.lines.join('\n');
  const file = /save as (\S+)/.exec(code)?.[1];
  assert.ok(file, `README.md:${b.line}: the snippet says where to save it`);
  fs.writeFileSync(path.join(work, file), code + '\n');
  const r = sh(`node ${file}`);
  assert.equal(r.code, 0, `README.md:${b.line}: node ${file}\n${r.out}`);
  const folder = /pipeline\('text-classification', '([^']+)'/.exec(code)![1]!;
  const text = /classify\('([^']+)'/.exec(code)![1]!;
  const shown = new Map([...r.out.matchAll(/label: '([^']+)',\s*score: ([\d.e-]+)/g)].map((m) => [m[1]!, Number(m[2])]));
  const ours = sh(`bertfuse predict ${folder} --text '${text}' --json`);
  assert.equal(ours.code, 0, ours.out);
  const probs = (JSON.parse(ours.out.trim()) as { probs: Record<string, number> }).probs;
  assert.deepEqual([...shown.keys()].sort(), Object.keys(probs).sort(), r.out);
  for (const [label, p] of Object.entries(probs)) assert.ok(Math.abs(shown.get(label)! - p) < 1e-4, `${label}: transformers.js ${shown.get(label)} vs bertfuse ${p}`);
}

/** `bertfuse serve … --port 8080` as written, on a free port instead (tests run side by side), until stopped. */
function startServer(cmd: string): Promise<ServeProcess> {
  return startServe('bash', ['-c', `exec ${cmd.replace('--port 8080', '--port 0')}`], { cwd: work, env });
}

after(() => {
  // Outputs live in the temp folder, removed at exit; nothing was written into the project's inputs.
  const touched = ['fixtures', 'data', 'examples'].flatMap((d) =>
    (fs.readdirSync(path.join(ROOT, d), { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(ROOT, d, f)).mtimeMs >= started).map((f) => `${d}/${f}`),
  );
  assert.deepEqual(touched, []);
});
