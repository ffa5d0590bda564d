// The capture phase: each operation is sent a few times untagged (caches warm: tenants, pharmacy
// directory), then a few times tagged, one at a time, while capture-sql.preload.mjs records the SQL
// of tagged requests; the steady statement sequence becomes the operation's pgbench script.
import { readFile } from 'node:fs/promises';
import { steadySample } from './pgbench.mjs';

/**
 * `operations`: `{ name, request: () => ({ method, path, headers, body, inputs }) }`, where inputs
 * say which values of the request stand for the pre-loaded prescription or patient it was about.
 */
export async function captureStatements({ baseUrl, captureFile, operations, warmups = 5, samples = 5 }) {
  const inputsByTag = new Map();
  for (const op of operations) {
    for (let i = 0; i < warmups + samples; i++) {
      const { method, path, headers, body, inputs = [] } = op.request();
      const tag = i >= warmups ? `${op.name}#${i}` : undefined;
      if (tag) inputsByTag.set(tag, inputs);
      const response = await fetch(`${baseUrl}${path}`, { method, headers: { ...headers, ...(tag ? { 'x-bench-capture': tag } : {}) }, body });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`capture: ${op.name} answered ${response.status}: ${text.slice(0, 300)}`);
    }
  }
  // The preload writes a request's statements when its response finishes: give the last one a moment.
  const expected = operations.length * samples;
  let lines = [];
  for (let attempt = 0; attempt < 50 && lines.length < expected; attempt++) {
    lines = (await readFile(captureFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    if (lines.length < expected) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const captured = lines.map((line) => JSON.parse(line));
  const result = new Map();
  for (const op of operations) {
    const mine = captured.filter((c) => c.tag.startsWith(`${op.name}#`));
    if (mine.length === 0) throw new Error(`capture: no statements recorded for ${op.name} (is the preload active?)`);
    const sample = steadySample(mine);
    result.set(op.name, { sample, inputs: inputsByTag.get(sample.tag) });
  }
  return result;
}
