import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedDocs } from '../../scripts/docs/generated-docs.js';
import { buildReferenceMarkdown, table } from '../../scripts/docs/reference-markdown.js';
import { ENVIRONMENT_VARIABLES, loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { ERROR_CODES, EVENT_CATALOG, PERSONAS } from '../../src/domain/index.js';
import { HTTP_STATUS } from '../../src/transport/http/error-status.js';

/** The names `loadConfig` reads from an environment holding `values`, whether it succeeds or not. */
function variablesRead(values: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const env = new Proxy(values, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  try {
    loadConfig(env);
  } catch {
    // production without a secret is refused after every variable was read
  }
  return read;
}

/** Rows of the markdown table that follows `heading`, as cells. */
function rowsAfter(markdown: string, heading: string): string[][] {
  const section = markdown.slice(markdown.indexOf(`${heading}\n`));
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith('| '));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('| ')) break;
    rows.push(line.slice(2, -2).split(/(?<!\\) \| /));
  }
  return rows;
}

describe('reference docs', () => {
  const markdown = buildReferenceMarkdown();

  it('are committed as generated: run `npm run docs:generate` after changing what they are made from', () => {
    for (const [file, content] of Object.entries(generatedDocs())) {
      expect(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'), `${file} is not current: run npm run docs:generate`).toBe(content);
    }
  });

  it('document every environment variable loadConfig reads, and only those', () => {
    const read = new Set([...variablesRead({}), ...variablesRead({ NODE_ENV: 'production' }), ...variablesRead({ OTEL_SDK_DISABLED: 'true' })]);
    const documented = ENVIRONMENT_VARIABLES.map((v) => v.name);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...read].sort());
  });

  it("give as a variable's default the value that, set explicitly, changes nothing", () => {
    const base = loadConfig({});
    for (const variable of ENVIRONMENT_VARIABLES.filter((v) => v.default !== undefined)) {
      expect(loadConfig({ [variable.name]: variable.default }), variable.name).toEqual(base);
    }
  });

  it('list every error code with its HTTP status, every persona, every event type and every variable', () => {
    expect(rowsAfter(markdown, '## Error codes').map(([code, status]) => [code, status])).toEqual(ERROR_CODES.map((c) => [`\`${c}\``, String(HTTP_STATUS[c])]));
    expect(rowsAfter(markdown, '## Personas and their rights').map(([persona]) => persona)).toEqual(PERSONAS.map((p) => `\`${p}\``));
    expect(rowsAfter(markdown, '## Events').map(([type]) => type)).toEqual(Object.keys(EVENT_CATALOG).map((t) => `\`${t}\``));
    expect(rowsAfter(markdown, '## Environment variables').map(([name]) => name)).toEqual(ENVIRONMENT_VARIABLES.map((v) => `\`${v.name}\``));
    for (const row of rowsAfter(markdown, '## Error codes')) expect(row[2].length).toBeGreaterThan(10);
  });

  it('escape what would break a table cell', () => {
    expect(table(['a'], [['x | y\nz']])).toBe('| a |\n| --- |\n| x \\| y z |');
  });
});
