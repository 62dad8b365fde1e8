import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed package's root (works from src/ under tsx and from dist/ after the build). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('bertfuse package root not found');
    dir = up;
  }
  return dir;
}

/** Models and data shipped with the package for the demo and the tests. */
export function bundledFixture(name: string): string {
  return path.join(packageRoot(), 'fixtures', name);
}
export function bundledData(name: string): string {
  return path.join(packageRoot(), 'data', name);
}

export const VERSION: string = (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
