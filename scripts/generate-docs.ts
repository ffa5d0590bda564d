/** Writes docs/asyncapi.json and docs/reference.md from the code (`npm run docs:generate`; CI checks they are current). */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import { generatedDocs } from './docs/generated-docs.js';

for (const [file, content] of Object.entries(generatedDocs())) {
  const target = path.join(PROJECT_ROOT, file);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, content);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
