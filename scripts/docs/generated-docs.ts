import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';
import { buildAsyncApiDocument } from '../../src/transport/events/asyncapi-document.js';
import { buildReferenceMarkdown } from './reference-markdown.js';

/** The package version, which the AsyncAPI document carries. */
export const packageVersion = (): string => (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Every generated document: path under the project → content. */
export function generatedDocs(): Record<string, string> {
  return {
    'docs/asyncapi.json': `${JSON.stringify(buildAsyncApiDocument({ version: packageVersion() }), null, 2)}\n`,
    'docs/reference.md': buildReferenceMarkdown(),
  };
}
