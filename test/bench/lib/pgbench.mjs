// pgbench baselines generated from the statements the gateway itself sent (capture-sql.preload.mjs):
// the same SQL text in the same round trips, with the varying values (fresh uuids; the prescription or
// patient a request was about) drawn per transaction from pgbench variables, so each transaction
// touches other rows, as the gateway's requests do.
//
// pgbench runs in simple-protocol mode with the parameters as quoted literals: the gateway sends some
// multi-statement strings in one round trip (e.g. `BEGIN; SELECT set_config(…)`), which the extended
// protocol cannot carry, and a quoted literal is typed like an untyped parameter (both `unknown`), so
// the server resolves and plans each statement as it does the gateway's unnamed extended statements.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { summarize } from './stats.mjs';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export async function pgbenchVersion() {
  try {
    const { stdout } = await promisify(execFile)('pgbench', ['--version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** The most common statement sequence among the captured requests (caches warm), latest of them. */
export function steadySample(captured) {
  const byShape = new Map();
  for (const request of captured) {
    const shape = request.statements.map((s) => s.text).join('\u0000');
    byShape.set(shape, [...(byShape.get(shape) ?? []), request]);
  }
  const [winner] = [...byShape.values()].sort((a, b) => b.length - a.length);
  return winner.at(-1);
}

/** Parameter types PostgreSQL infers for a statement (what a CAST must produce to stand in for $n). */
async function parameterTypes(client, text, index) {
  const name = `bench_probe_${index}`;
  try {
    await client.query(`PREPARE ${name} AS ${text}`);
    const { rows } = await client.query('SELECT parameter_types::text[] AS types FROM pg_prepared_statements WHERE name = $1', [name]);
    return rows[0].types;
  } catch {
    return [];
  } finally {
    await client.query(`DEALLOCATE ${name}`).catch(() => undefined);
  }
}

const oneLine = (text) => text.replace(/\s*\n\s*/g, ' ').trim();

const literal = (value) => `'${value.replaceAll("'", "''")}'`;

/**
 * Turns one captured request into a pgbench script. `inputs` maps values the request was about to
 * an SQL expression over a random pgbench variable, e.g. a prescription id to `md5('mr-' || :k)`.
 * Constant values travel as `-D` variables holding quoted literals (pgbench does not rescan what it
 * substitutes, so a `:x` inside a value stays text); a value holding uuids becomes a concatenation
 * cast to the parameter's type; other uuids are fresh per transaction (new ids, idempotency keys,
 * correlation ids).
 */
export async function buildScript({ client, sample, inputs }) {
  const defines = [];
  const sets = [];
  const fresh = new Map();
  const inputVars = new Map();
  const expressionOf = (uuid) => {
    const input = inputs.find((i) => i.value.toLowerCase() === uuid.toLowerCase());
    if (input) {
      if (!inputVars.has(input.value)) {
        const v = `in${inputVars.size + 1}`;
        inputVars.set(input.value, v);
        sets.push(`\\set ${v} random(1, ${input.max})`);
      }
      return input.sql(inputVars.get(input.value));
    }
    if (!fresh.has(uuid)) {
      const v = `u${fresh.size + 1}`;
      fresh.set(uuid, v);
      sets.push(`\\set ${v} random(1, 9223372036854775806)`);
    }
    return `CAST(CAST(md5(CAST(:${fresh.get(uuid)} AS text)) AS uuid) AS text)`;
  };
  const define = (value) => {
    const name = `c${defines.length + 1}`;
    defines.push(`${name}=${literal(value)}`);
    return `:${name}`;
  };

  /** `text` with each `$n` replaced by an expression that stands for its value (see above). */
  const bound = async (text, values, probe) => {
    const types = await parameterTypes(client, text, probe);
    const params = values.map((value, i) => {
      if (value === null || value === undefined) return 'NULL';
      const str = String(value);
      const parts = [];
      let last = 0;
      for (const match of str.matchAll(UUID)) {
        if (match.index > last) parts.push(define(str.slice(last, match.index)));
        parts.push(expressionOf(match[0]));
        last = match.index + match[0].length;
      }
      if (parts.length === 0) return define(str);
      if (last < str.length) parts.push(define(str.slice(last)));
      return `CAST(${parts.map((p) => (p.startsWith(':') ? `CAST(${p} AS text)` : p)).join(' || ')} AS ${types[i] ?? 'text'})`;
    });
    return text.replace(/\$(\d+)/g, (_m, n) => params[Number(n) - 1]);
  };

  const commands = [];
  for (const [index, statement] of sample.statements.entries()) {
    const text = oneLine(statement.text);
    const withoutStrings = text.replace(/'(?:[^']|'')*'/g, "''");
    if (/(^|[^:]):[A-Za-z0-9_]/.test(withoutStrings.replace(/::/g, '')))
      throw new Error(`pgbench would read a ':name' in this statement as a variable: ${text}`);
    if (statement.parts?.some((part) => part.values.length > 0)) {
      // Statements the gateway sent with their values inlined, as one round trip: `\;` keeps it one.
      const parts = [];
      for (const [j, part] of statement.parts.entries())
        parts.push(part.values.length === 0 ? oneLine(part.text) : await bound(oneLine(part.text), part.values, `${index}_${j}`));
      commands.push(parts.join(' \\; '));
      continue;
    }
    if (statement.values.length === 0) {
      // A multi-statement string is one round trip for the gateway: `\;` keeps it one for pgbench.
      const parts = text
        .replace(/'(?:[^']|'')*'|;/g, (m) => (m === ';' ? '\u0000' : m))
        .split('\u0000')
        .map((p) => p.trim())
        .filter(Boolean);
      commands.push(parts.join(' \\; '));
      continue;
    }
    commands.push(await bound(text, statement.values, `${index}`));
  }
  const script = `${sets.join('\n')}\n${commands.map((c) => `${c};`).join('\n')}\n`;
  return { script, defines, roundTrips: sample.statements.length };
}

/** Runs one pgbench script; latencies come from its per-transaction log. */
export async function runPgbench({ url, script, defines, clients, seconds }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'rxgate-pgbench-'));
  try {
    const file = path.join(dir, 'script.sql');
    await writeFile(file, script);
    const target = new URL(url);
    const args = [
      '-n',
      '-M',
      'simple',
      '-c',
      String(clients),
      '-j',
      String(Math.min(clients, 2)),
      '-T',
      String(seconds),
      '-f',
      file,
      '-l',
      `--log-prefix=${path.join(dir, 'tx')}`,
    ];
    for (const d of defines) args.push('-D', d);
    args.push('-h', target.hostname, '-p', target.port || '5432', '-U', decodeURIComponent(target.username || 'postgres'), target.pathname.slice(1));
    const { code, stdout, stderr } = await new Promise((resolve) => {
      const child = spawn('pgbench', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    const latencies = [];
    for (const name of await readdir(dir)) {
      if (!name.startsWith('tx')) continue;
      for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
        const fields = line.split(' ');
        if (fields.length >= 3 && fields[2] !== 'failed' && fields[2] !== 'skipped') latencies.push(Number(fields[2]) / 1000);
      }
    }
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? 0);
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
    const aborted = (stderr.match(/aborted/g) ?? []).length;
    const errors = failed + aborted + (code === 0 ? 0 : 1);
    return { rps: tps, ...summarize(latencies), errors, detail: errors ? stderr.trim().split('\n').slice(-3).join(' | ') || stdout.slice(-300) : undefined };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The statements of one SQL statement that may be `WITH w0 AS (…), w1 AS (…) <main>`: the CTE bodies
 * and the main statement, each on its own (quoted text and nested parentheses skipped).
 */
export function statementsOf(sql) {
  const text = sql.trim();
  if (!/^WITH w0 AS \(/.test(text)) return [text];
  const out = [];
  let i = text.indexOf('(') + 1;
  for (;;) {
    let depth = 1;
    const start = i;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === "'") i = text.indexOf("'", i + 1) < 0 ? text.length : text.indexOf("'", i + 1);
      else if (text[i] === '(') depth++;
      else if (text[i] === ')') depth--;
    }
    out.push(text.slice(start, i - 1).trim());
    const next = /^\s*,\s*w\d+ AS \(/.exec(text.slice(i));
    if (!next) break;
    i += next[0].length;
  }
  out.push(text.slice(i).trim());
  return out;
}
