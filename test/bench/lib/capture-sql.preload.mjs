// Preloaded into the gateway (`node --import`) for the capture phase only: records the SQL that each
// HTTP request tagged with `x-bench-capture: <tag>` sends to PostgreSQL, as the server receives it
// (text and parameters serialised by pg), so the pgbench baselines replay exactly what rxgate runs —
// whatever the stores, row-level security or audit code issue, without knowing about them.
// Hooks pg's Client (TypeORM and the app's own pg use reach the server through it) and
// http.Server#emit; untagged requests and background work (relay, bus) are not recorded.
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const out = process.env.BENCH_SQL_CAPTURE_FILE;
if (!out) throw new Error('capture-sql.preload.mjs needs BENCH_SQL_CAPTURE_FILE');

// Resolve pg from the project, as the gateway does, so the patched prototype is the one it uses.
const require = createRequire(path.join(process.cwd(), 'package.json'));
const pg = require('pg');
const { prepareValue } = require('pg/lib/utils');

const requests = new AsyncLocalStorage();

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, request, response) {
  const tag = event === 'request' ? request.headers['x-bench-capture'] : undefined;
  if (typeof tag !== 'string') return emit.apply(this, arguments);
  const store = { tag, open: true, statements: [] };
  // Statements after the response (none expected) belong to no request's transaction: not recorded.
  response.once('finish', () => {
    store.open = false;
    appendFileSync(out, `${JSON.stringify({ tag, status: response.statusCode, statements: store.statements })}\n`);
  });
  return requests.run(store, () => emit.apply(this, arguments));
};

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values) {
  const store = requests.getStore();
  if (store?.open) {
    const text = typeof config === 'string' ? config : config?.text;
    const params = (config && typeof config === 'object' && Array.isArray(config.values) ? config.values : Array.isArray(values) ? values : undefined) ?? [];
    // prepareValue is what pg itself sends: Dates in its format, objects as JSON, arrays as literals.
    if (typeof text === 'string')
      store.statements.push(
        params.length > 0 ? { text, values: params.map((v) => prepareValue(v)), connection: this.processID } : unInlined(text, this.processID),
      );
  }
  return query.apply(this, arguments);
};

// The gateway sends some round trips as one simple-protocol string with its values inlined as quoted
// literals (a read with its tenant, a transaction's writes with its COMMIT). For pgbench to replay them
// with fresh ids, each statement of such a string is recorded with its literals taken back out as
// parameters, the way the extended protocol would have sent them.
const LITERAL_OR_SEMICOLON = /\bE'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|;/g;

function unInlined(text, connection) {
  const parts = [];
  let current = { text: '', values: [] };
  let last = 0;
  for (const match of text.matchAll(LITERAL_OR_SEMICOLON)) {
    current.text += text.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[0] === ';') {
      parts.push(current);
      current = { text: '', values: [] };
    } else {
      current.values.push(unquote(match[0]));
      current.text += `$${current.values.length}`;
    }
  }
  current.text += text.slice(last);
  parts.push(current);
  const statements = parts.map((p) => ({ text: p.text.trim(), values: p.values })).filter((p) => p.text !== '');
  return { text: statements.map((p) => p.text).join('; '), values: [], parts: statements, connection };
}

function unquote(literal) {
  if (/^E'/i.test(literal)) return literal.slice(2, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1');
  return literal.slice(1, -1).replace(/''/g, "'");
}
