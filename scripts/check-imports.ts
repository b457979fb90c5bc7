/**
 * Product code stands alone: no module under src/ may import from test/, bench/ or scripts/ (test
 * code never ships). Run by the test command; exits 1 naming each offending import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const product = join(root, 'src');
const importPattern = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (/\.(ts|tsx|mts)$/.test(entry.name)) yield path;
  }
}

const offences: string[] = [];
for (const file of sources(product)) {
  for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
    const target = resolve(dirname(file), match[1] as string);
    if (!target.startsWith(product + '/') && target !== join(root, 'package.json')) {
      offences.push(`${relative(root, file)} imports ${match[1]} (outside src/)`);
    }
  }
}
if (offences.length > 0) {
  process.stderr.write(`product code must not import test or tooling code:\n  ${offences.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write('imports: src/ imports nothing from test/, bench/ or scripts/\n');
