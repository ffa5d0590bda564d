// Commit → subscriber receipt latency with many graphql-ws subscribers on one gateway instance.
// Usage: npm run build && node test/bench/live-latency.mjs [--subscribers 1000] [--rate 20] [--seconds 10]
// Uses DATABASE_URL / NATS_URL from the environment when set (real services), else the embedded runtime.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: { subscribers: { type: 'string', default: '1000' }, rate: { type: 'string', default: '20' }, seconds: { type: 'string', default: '10' } },
});
const subscribers = Number(values.subscribers);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const port = 4700 + Math.floor(Math.random() * 200);
const dataDir = await mkdtemp(path.join(tmpdir(), 'rxgate-bench-'));
const server = spawn(process.execPath, ['dist/src/main.js'], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ENABLED: 'false',
    SUBSCRIBER_BUFFER_SIZE: '10000',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) {
  if (
    await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 200));
}
const token = await new SignJWT({ tenant: 'tenant-a', persona: 'ehr-backend' })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject('bench')
  .setExpirationTime('1h')
  .sign(new TextEncoder().encode('dev-only-secret-change-me'));

const latencies = [];
let connected = 0;
const clients = [];
for (let i = 0; i < subscribers; i++) {
  const client = createClient({
    url: `ws://127.0.0.1:${port}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  client.on('connected', () => connected++);
  client.subscribe(
    { query: 'subscription { prescriptionEvents(filter: { types: ["eprescribing.medication_request.created.v1"] }) { occurredAt } }' },
    {
      next: (v) => latencies.push(Date.now() - Date.parse(v.data.prescriptionEvents.occurredAt)),
      error: (e) => console.error('subscription error', e),
      complete: () => undefined,
    },
  );
  clients.push(client);
}
while (connected < subscribers) await new Promise((r) => setTimeout(r, 100));
await new Promise((r) => setTimeout(r, 1000)); // subscriptions set up
process.stderr.write(`${subscribers} subscribers connected; writing ${rate}/s for ${seconds}s\n`);

const body = JSON.stringify({
  resourceType: 'MedicationRequest',
  status: 'draft',
  intent: 'order',
  subject: { reference: 'Patient/bench' },
  medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
  dispenseRequest: { performer: { reference: 'Organization/FM664' }, quantity: { value: 30, unit: 'tablet' } },
});
let writes = 0;
let errors = 0;
const started = Date.now();
while (Date.now() - started < seconds * 1000) {
  const tick = Date.now();
  const res = await fetch(`${base}/fhir/MedicationRequest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body,
  });
  if (res.status === 201) writes++;
  else errors++;
  await new Promise((r) => setTimeout(r, Math.max(0, 1000 / rate - (Date.now() - tick))));
}
const expected = writes * subscribers;
const deadline = Date.now() + 30_000;
while (latencies.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(
  JSON.stringify({
    subscribers,
    writes,
    writeErrors: errors,
    deliveries: latencies.length,
    expected,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    max_ms: latencies.at(-1),
    runtime: process.env.DATABASE_URL ? 'postgres+nats' : 'embedded',
  }),
);
for (const client of clients) await client.dispose();
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
await rm(dataDir, { recursive: true, force: true });
