import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running the module `name` that sits next to the module `here` (its
 * `import.meta.url`). Built code runs `name.js`; running from TypeScript sources (tests, tsx) the
 * worker must load `name.ts` through tsx too, which a worker does not inherit from its parent.
 */
export function spawnModuleWorker(here: string, name: string, options: WorkerOptions = {}): Worker {
  if (here.endsWith('.ts')) {
    const entry = new URL(`./${name}.ts`, here).href;
    return new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, { ...options, eval: true, execArgv: [] });
  }
  return new Worker(new URL(`./${name}.js`, here), options);
}
