// Chaos soak (issue #20): two gateway instances on a PostgreSQL and a NATS of the run's own, under
// mixed load (creates and full workflows through both doors and both instances, retried with the same
// Idempotency-Key when an answer is lost) with live subscribers on both instances and both tenants,
// while it kills one instance with -9, restarts NATS and restarts PostgreSQL. Then it checks what the
// issue asks and prints one table and `N passed, N failed`. Loopback only; every loop is bounded.
//
//   npm run chaos            # the full soak (about 4 minutes)
//   npm run chaos -- --quick # the short one for CI (about 1.5 minutes)
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import pg from 'pg';
import WebSocket from 'ws';
import { freePort, privatePostgres, requireBinary, untilAccepting } from '../support/private-postgres.mjs';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const quick = process.argv.includes('--quick');
const PHASE = quick
  ? { warm: 12_000, between: 8_000, natsDown: 3_000, killDown: 2_000, after: 22_000 }
  : { warm: 40_000, between: 30_000, natsDown: 15_000, killDown: 5_000, after: 40_000 };
const WORKERS = quick ? 3 : 8;
const RECOVERY_MS = 10_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line) => process.stderr.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
const t0 = Date.now();

// ── Services of the run's own ─────────────────────────────────────────────────────────────

async function nats() {
  const dir = await mkdtemp(path.join(tmpdir(), 'rxgate-chaos-nats-'));
  const port = await freePort();
  const monitorPort = await freePort();
  let child;
  const start = async () => {
    child = spawn(requireBinary('nats-server'), ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', dir], { stdio: 'ignore' });
    await untilAccepting('nats-server', port, 10_000);
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  // The durable consumers' state as the server sees it, for the report when actions stall.
  const consumers = async () => {
    const jsz = await (await fetch(`http://127.0.0.1:${monitorPort}/jsz?accounts=true&consumers=true`)).json();
    return (
      jsz.account_details?.flatMap(
        (a) =>
          a.stream_detail?.flatMap((st) =>
            (st.consumer_detail ?? [])
              .filter((c) => c.name.startsWith('rxgate'))
              .map((c) => ({
                stream: st.name,
                name: c.name,
                pending: c.num_pending,
                ackPending: c.num_ack_pending,
                redelivered: c.num_redelivered,
                waiting: c.num_waiting,
                delivered: c.delivered?.stream_seq,
                ackFloor: c.ack_floor?.stream_seq,
              })),
          ) ?? [],
      ) ?? []
    );
  };
  return { url: `nats://127.0.0.1:${port}`, start, stop, consumers, cleanup: async () => (await stop(), await rm(dir, { recursive: true, force: true })) };
}

// ── Gateway instances ─────────────────────────────────────────────────────────────────────

function instance(name, port, env) {
  const self = { name, url: `http://127.0.0.1:${port}`, up: false, child: undefined };
  self.start = async () => {
    const child = spawn(process.execPath, [path.join(root, 'test/chaos/gateway.mjs')], {
      env: { ...process.env, ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    self.child = child;
    await new Promise((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk) => {
        buffer += chunk;
        if (buffer.includes('ready ')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    });
    self.up = true;
  };
  self.kill9 = async () => {
    self.up = false;
    const exited = new Promise((resolve) => self.child.once('exit', resolve));
    self.child.kill('SIGKILL');
    await exited;
  };
  self.stop = async () => {
    if (!self.child || self.child.exitCode !== null) return;
    const exited = new Promise((resolve) => self.child.once('exit', resolve));
    self.child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => self.child.kill('SIGKILL'))]);
  };
  return self;
}

// ── Load ──────────────────────────────────────────────────────────────────────────────────

const responses = []; // { at, status }
const acknowledged = []; // { tenant, id, at (ack time of the create) }
const expiring = []; // { tenant, id } of prescriptions approved and left until their validity ends
const faults = []; // { name, start, end }
let stopLoad = false;

async function call(instances, build, { okStatuses = [200, 201] } = {}) {
  const deadline = Date.now() + 90_000;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const live = instances.filter((i) => i.up);
    const target = live[Math.floor(Math.random() * live.length)] ?? instances[0];
    const { url, init } = build(target.url);
    let status = 0;
    let body;
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
      status = response.status;
      body = await response.json().catch(() => undefined);
    } catch {
      // No answer (status stays 0): the instance died or the connection was cut.
    }
    responses.push({ at: Date.now(), status });
    if (okStatuses.includes(status)) return { status, body, attempt };
    if (status === 0 || status >= 500) {
      await sleep(Math.min(100 * 2 ** attempt, 1_000));
      continue;
    }
    return { status, body, attempt };
  }
  throw new Error('a request never got an answer');
}

const fhir = (token, method, pathname, resource, key) => (base) => ({
  url: `${base}/fhir/${pathname}`,
  init: {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', ...(key ? { 'idempotency-key': key } : {}) },
    body: resource ? JSON.stringify(resource) : undefined,
  },
});
const gql = (token, query, variables) => (base) => ({
  url: `${base}/graphql`,
  init: { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) },
});
const task = (focus, code, status) => ({
  resourceType: 'Task',
  status,
  intent: 'order',
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code }] },
  focus: { reference: `MedicationRequest/${focus}` },
});
const prescription = (patient) => ({
  resourceType: 'MedicationRequest',
  status: 'draft',
  intent: 'order',
  medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
  subject: { reference: `Patient/${patient}` },
  requester: { reference: 'Practitioner/chaos' },
  authoredOn: new Date().toISOString(),
  dosageInstruction: [{ text: 'one a day' }],
  dispenseRequest: { performer: { reference: 'Organization/FM664' }, quantity: { value: 30, unit: 'tablet' }, numberOfRepeatsAllowed: 1 },
});
const CREATE = `mutation($input: MedicationRequestInput!, $key: String) { createMedicationRequest(input: $input, idempotencyKey: $key) { id } }`;
const TRANSITION = `mutation($id: ID!) { transitionPrescription(id: $id, event: DISPENSE) { id workflowStatus } }`;

async function worker(n, instances, tokens) {
  const tenant = n % 3 === 2 ? 'tenant-b' : 'tenant-a';
  const { ehr, pharmacy } = tokens[tenant];
  for (let round = 0; !stopLoad && round < 100_000; round++) {
    const key = `chaos-${n}-${round}-${t0}`;
    const patient = `chaos-${n}-${round % 5}`;
    let id;
    if (round % 2 === 0 || round % 8 === 7) {
      const resource = prescription(patient);
      if (round % 8 === 7)
        resource.dispenseRequest.validityPeriod = { start: new Date().toISOString(), end: new Date(Date.now() + 3_000 + (round % 5) * 1_000).toISOString() };
      const created = await call(instances, fhir(ehr, 'POST', 'MedicationRequest', resource, key));
      id = created.body?.id;
    } else {
      const input = {
        subject: { reference: `Patient/${patient}` },
        medication: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
        dispenseRequest: { performer: { reference: 'Organization/FM664' } },
      };
      const created = await call(instances, gql(ehr, CREATE, { input, key }));
      id = created.body?.data?.createMedicationRequest?.id;
    }
    if (!id) continue;
    acknowledged.push({ tenant, id, at: Date.now() });
    if (round % 8 === 3) continue; // some stay requested
    await call(instances, fhir(ehr, 'POST', 'Task', task(id, 'approve', 'completed'), `${key}-approve`));
    if (round % 8 === 5) {
      // Cancelled after approval: the insurance notice is reversed (a compensation).
      await call(instances, fhir(ehr, 'POST', 'Task', task(id, 'abort', 'completed'), `${key}-cancel`));
      continue;
    }
    if (round % 8 === 7) {
      // Approved and left: its validity ends in a few seconds and the engine's timer expires it.
      expiring.push({ tenant, id });
      continue;
    }
    await call(instances, fhir(pharmacy, 'POST', 'Task', task(id, 'fulfill', 'in-progress'), `${key}-process`));
    // GraphQL's DISPENSE has no idempotency key: a lost answer is retried, and 'already dispensed' (409) is fine.
    const dispensed = await call(instances, gql(pharmacy, TRANSITION, { id }));
    if (dispensed.body?.errors && dispensed.body.errors[0]?.extensions?.code !== 'INVALID_TRANSITION') continue;
    await call(instances, fhir(pharmacy, 'POST', 'Task', task(id, 'fulfill', 'completed'), `${key}-complete`));
  }
}

// ── Live subscribers: resume with `after` on the other instance when theirs goes ──────────

const SUBSCRIPTION = `subscription($after: String) { prescriptionEvents(after: $after) { eventId type sequence tenantId medicationRequest { id } } }`;

function liveSubscriber(name, tenant, token, instances, first) {
  const self = { name, tenant, events: [], resumes: 0, last: undefined, client: undefined, stopped: false };
  let which = first;
  const open = () => {
    if (self.stopped) return;
    const target = instances[which % instances.length];
    const client = createClient({
      url: `${target.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
    });
    self.client = client;
    let ended = false;
    const again = () => {
      if (ended || self.stopped) return;
      ended = true;
      void client.dispose();
      self.resumes++;
      which++; // resume on the other instance
      setTimeout(open, 200);
    };
    client.on('closed', again);
    client.subscribe(
      { query: SUBSCRIPTION, variables: self.last === undefined ? {} : { after: self.last } },
      {
        next: (value) => {
          const e = value.data?.prescriptionEvents;
          if (value.errors) self.errors = (self.errors ?? 0) + 1;
          if (!e) return;
          self.events.push({ ...e, at: Date.now() });
          self.last = e.sequence;
        },
        error: again,
        complete: again,
      },
    );
  };
  self.start = async () => {
    open();
  };
  self.stop = async () => {
    self.stopped = true;
    await self.client?.dispose();
  };
  return self;
}

// ── The run ───────────────────────────────────────────────────────────────────────────────

async function readyWithin(instances, from) {
  const times = {};
  await Promise.all(
    instances.map(async (i) => {
      for (let k = 0; k < 600; k++) {
        const status = await fetch(`${i.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) return void (times[i.name] = Date.now() - from);
        await sleep(100);
      }
      times[i.name] = Infinity;
    }),
  );
  return times;
}

const p50 = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
};

async function main() {
  log(`building (tsc); ${quick ? 'quick' : 'full'} run`);
  await exec(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { cwd: root });
  const [database, bus] = await Promise.all([privatePostgres({ prefix: 'rxgate-chaos-pg-', maxConnections: 300 }), nats()]);
  const { DEVELOPMENT_JWT_SECRET } = await import(path.join(root, 'dist/src/config.js'));
  const secret = new TextEncoder().encode(DEVELOPMENT_JWT_SECRET);
  const token = (tenant, persona) =>
    new SignJWT({ sub: `chaos-${persona}`, tenant, persona }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('2h').sign(secret);
  const tokens = {};
  for (const tenant of ['tenant-a', 'tenant-b'])
    tokens[tenant] = { ehr: await token(tenant, 'ehr-backend'), pharmacy: await token(tenant, 'pharmacy-backend') };

  const env = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    NATS_URL: bus.url,
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'error',
    NATS_ACK_WAIT_MS: '5000',
    SHUTDOWN_TIMEOUT_MS: '5000',
  };
  const instances = [instance('A', await freePort(), env), instance('B', await freePort(), env)];
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  sql.on('error', () => undefined);
  const subscribers = [];
  try {
    await instances[0].start(); // migrations once, then the second
    await instances[1].start();
    log('two instances ready');
    subscribers.push(
      liveSubscriber('a@A', 'tenant-a', tokens['tenant-a'].ehr, instances, 0),
      liveSubscriber('a@B', 'tenant-a', tokens['tenant-a'].ehr, instances, 1),
      liveSubscriber('b@A', 'tenant-b', tokens['tenant-b'].ehr, instances, 0),
      liveSubscriber('b@B', 'tenant-b', tokens['tenant-b'].ehr, instances, 1),
    );
    for (const s of subscribers) await s.start();
    await sleep(1_000);
    const workers = Array.from({ length: WORKERS }, (_, n) => worker(n, instances, tokens));
    // Progress of the actions consumer through the run, so a stall can be placed against the faults.
    const actionsProgress = setInterval(() => {
      sql.query('SELECT count(*)::int AS n FROM action_runs').then(
        (r) => log(`action runs so far: ${r.rows[0].n}`),
        () => undefined,
      );
    }, 5_000);
    await sleep(PHASE.warm);
    const preFault = Date.now();

    log('kill -9 of instance B');
    let start = Date.now();
    await instances[1].kill9();
    await sleep(PHASE.killDown);
    await instances[1].start();
    faults.push({ name: 'kill -9 B', start, end: Date.now() });
    faults.at(-1).ready = await readyWithin(instances, faults.at(-1).end);
    await sleep(PHASE.between);

    log(`NATS stopped for ${PHASE.natsDown / 1000} s`);
    start = Date.now();
    await bus.stop();
    await sleep(PHASE.natsDown);
    await bus.start();
    faults.push({ name: 'NATS restart', start, end: Date.now() });
    faults.at(-1).ready = await readyWithin(instances, faults.at(-1).end);
    await sleep(PHASE.between);

    log('PostgreSQL restarted (fast)');
    start = Date.now();
    await database.stop();
    await database.start();
    faults.push({ name: 'PostgreSQL restart', start, end: Date.now() });
    faults.at(-1).ready = await readyWithin(instances, faults.at(-1).end);
    await sleep(PHASE.after);

    stopLoad = true;
    clearInterval(actionsProgress);
    await Promise.all(workers);
    // The last validity periods end a few seconds after the load: wait (bounded) until no expiry timer is pending.
    const pendingExpiries = async () =>
      (await sql.query(`SELECT count(*)::int AS n FROM workflow_timers WHERE name = 'expiry' AND settled_at IS NULL`)).rows[0].n;
    for (let k = 0; k < 300 && (await pendingExpiries()) > 0; k++) await sleep(100);
    log('load stopped; waiting for every subscriber to have every event');
    const outbox = async () =>
      (
        await sql.query(
          `SELECT event_id, sequence::text AS sequence, envelope #>> '{metadata,tenantId}' AS tenant, envelope #>> '{metadata,eventType}' AS type, envelope #>> '{payload,event}' AS event, envelope #>> '{payload,to}' AS to, envelope #>> '{payload,medicationRequestId}' AS mr, published_at FROM outbox ORDER BY seq`,
        )
      ).rows;
    let rows = [];
    for (let k = 0; k < 300; k++) {
      rows = await outbox();
      const unpublished = rows.filter((r) => r.published_at === null).length;
      const complete = subscribers.every((s) => new Set(s.events.map((e) => e.eventId)).size >= rows.filter((r) => r.tenant === s.tenant).length);
      if (unpublished === 0 && complete) break;
      await sleep(100);
    }
    // Fence: one marker prescription per tenant, committed after everything else. A subscriber has
    // everything once its marker arrives; anything arriving after the marker is a late duplicate.
    const markers = {};
    for (const tenant of ['tenant-a', 'tenant-b']) {
      const created = await call(
        instances,
        fhir(tokens[tenant].ehr, 'POST', 'MedicationRequest', prescription(`chaos-fence-${tenant}`), `chaos-fence-${tenant}-${t0}`),
      );
      markers[tenant] = created.body?.id;
    }
    const fenced = (s) => s.events.some((e) => e.medicationRequest?.id === markers[s.tenant]);
    for (let k = 0; k < 300 && !subscribers.every(fenced); k++) await sleep(100);
    const fencesMissing = subscribers.filter((s) => !fenced(s)).map((s) => s.name);
    const afterFence = subscribers.reduce((n, s) => n + s.events.slice(s.events.findIndex((e) => e.medicationRequest?.id === markers[s.tenant]) + 1).length, 0);
    for (const s of subscribers) await s.stop();
    // The markers are not part of the soak's own changes.
    rows = (await outbox()).filter((r) => !Object.values(markers).includes(r.mr));
    for (const s of subscribers) s.events = s.events.filter((e) => !Object.values(markers).includes(e.medicationRequest?.id));

    // ── Checks ──
    const results = [];
    const check = (name, ok, figure) => results.push({ name, ok, figure });
    check(
      'every subscriber received its fence (nothing was still in flight)',
      fencesMissing.length === 0 && afterFence === 0,
      fencesMissing.length === 0 ? `${afterFence} event(s) after the fence` : `no fence at ${fencesMissing.join(', ')}`,
    );
    const outboxIds = new Set(rows.map((r) => r.event_id));
    const createdIds = new Set(rows.filter((r) => r.type.endsWith('medication_request.created.v1')).map((r) => r.mr));
    const lostAcks = acknowledged.filter((a) => !createdIds.has(a.id)).length;
    const duplicatePrescriptions = acknowledged.length - new Set(acknowledged.map((a) => a.id)).size;
    check(
      'every acknowledged create committed once',
      lostAcks === 0,
      `${acknowledged.length} acknowledged, ${lostAcks} missing, ${duplicatePrescriptions} answered twice (same key: same resource)`,
    );
    let lost = 0;
    let duplicated = 0;
    let disorder = 0;
    let crossTenant = 0;
    for (const s of subscribers) {
      const expected = rows.filter((r) => r.tenant === s.tenant).map((r) => r.event_id);
      const seen = new Map();
      for (const e of s.events) seen.set(e.eventId, (seen.get(e.eventId) ?? 0) + 1);
      lost += expected.filter((id) => !seen.has(id)).length;
      duplicated += [...seen.values()].filter((n) => n > 1).length;
      crossTenant += s.events.filter((e) => e.tenantId !== s.tenant || !outboxIds.has(e.eventId)).length;
      // The stream's order is the relay's sequence; a prescription's events must keep their commit
      // (outbox insertion) order in it, and the subscriber must see the stream's order.
      const position = new Map(rows.map((r, index) => [r.event_id, index]));
      const lastOf = new Map();
      for (let k = 0; k < s.events.length; k++) {
        const e = s.events[k];
        if (k > 0 && Number(e.sequence) <= Number(s.events[k - 1].sequence)) disorder++;
        const row = rows[position.get(e.eventId)];
        if (!row?.mr) continue;
        if (lastOf.has(row.mr) && position.get(e.eventId) < lastOf.get(row.mr)) disorder++;
        lastOf.set(row.mr, position.get(e.eventId));
      }
    }
    check(
      'no event lost at any subscriber',
      lost === 0,
      `${lost} lost over ${subscribers.length} subscribers (${subscribers.map((s) => `${s.name} ${s.events.length}`).join(', ')})`,
    );
    check(
      'no event duplicated at any subscriber',
      duplicated === 0,
      `${duplicated} duplicated; ${subscribers.reduce((n, s) => n + s.resumes, 0)} resumes with after`,
    );
    check('commit order at every subscriber', disorder === 0, `${disorder} out of order`);
    check('no event across tenants', crossTenant === 0, `${crossTenant} foreign events`);
    // The actions an event runs come from the definition the load's prescriptions start under, so the
    // check follows the definition instead of restating it (it once listed the first round's names).
    const { CURRENT_PRESCRIPTION_WORKFLOW } = await import(path.join(root, 'dist/src/domain/workflows/prescription.js'));
    const HANDLER = Object.fromEntries(
      CURRENT_PRESCRIPTION_WORKFLOW.actions.flatMap((a) =>
        [a.on]
          .flat()
          .filter((on) => on.event)
          .map((on) => [on.event, a.name]),
      ),
    );
    const COMPENSATION = Object.fromEntries(CURRENT_PRESCRIPTION_WORKFLOW.actions.filter((a) => a.compensation).map((a) => [a.name, a.compensation]));
    const expectedRuns = rows
      .filter((r) => r.type.endsWith('medication_request.status_changed.v1') && HANDLER[r.event])
      .map((r) => `${HANDLER[r.event]}/${r.event_id}`);
    // Compensations (the saga's undo): a prescription that reaches a compensating state gets, keyed by
    // that change's event, the compensation of every action that ran for it before, once.
    const changes = rows.filter((r) => r.type.endsWith('medication_request.status_changed.v1'));
    const expectedCompensations = [];
    for (const r of changes.filter((c) => CURRENT_PRESCRIPTION_WORKFLOW.states[c.to]?.compensating)) {
      const earlier = changes.filter((c) => c.mr === r.mr && Number(c.sequence) < Number(r.sequence) && HANDLER[c.event] && COMPENSATION[HANDLER[c.event]]);
      for (const c of earlier) expectedCompensations.push(`${COMPENSATION[HANDLER[c.event]]}/${r.event_id}`);
    }
    // The actions consumer works through its backlog one event at a time: wait for it (bounded).
    let runs = [];
    for (let k = 0, progress = { count: -1, at: Date.now() }; k < 600 && Date.now() - progress.at < 20_000; k++) {
      runs = (await sql.query(`SELECT handler, event_id::text AS event_id, count(*)::int AS n FROM action_runs GROUP BY handler, event_id`)).rows;
      const done = new Set(runs.map((r) => `${r.handler}/${r.event_id}`));
      if ([...expectedRuns, ...expectedCompensations].every((key) => done.has(key))) break;
      if (runs.length !== progress.count) progress = { count: runs.length, at: Date.now() };
      if (k % 25 === 0) log(`workflow actions and compensations run: ${runs.length} of ${expectedRuns.length + expectedCompensations.length}`);
      await sleep(200);
    }
    const ran = new Map(runs.map((r) => [`${r.handler}/${r.event_id}`, r.n]));
    const missingRuns = expectedRuns.filter((k) => !ran.has(k)).length;
    const actionRuns = runs.filter((r) => !Object.values(COMPENSATION).includes(r.handler));
    const extraRuns = actionRuns.filter((r) => r.n > 1).length + actionRuns.filter((r) => !expectedRuns.includes(`${r.handler}/${r.event_id}`)).length;
    const letters = (await sql.query('SELECT handler, event_type, attempts, error, created_at FROM dead_letters ORDER BY created_at')).rows;
    const dead = letters.length;
    for (const l of letters)
      log(`dead letter: ${l.handler} of ${l.event_type} after ${l.attempts} attempt(s), ${new Date(l.created_at).getTime() - t0} ms into the run: ${l.error}`);
    const firstMissing = rows.find(
      (r) => r.type.endsWith('medication_request.status_changed.v1') && HANDLER[r.event] && !ran.has(`${HANDLER[r.event]}/${r.event_id}`),
    );
    if (missingRuns > 0) {
      const byEvent = {};
      for (const r of rows)
        if (r.type.endsWith('medication_request.status_changed.v1') && HANDLER[r.event] && !ran.has(`${HANDLER[r.event]}/${r.event_id}`))
          byEvent[r.event] = (byEvent[r.event] ?? 0) + 1;
      log(
        `missing action runs by event: ${JSON.stringify(byEvent)}; ran by handler: ${JSON.stringify(runs.reduce((n, r) => ({ ...n, [r.handler]: (n[r.handler] ?? 0) + 1 }), {}))}`,
      );
    }
    if (missingRuns > 0) log(`durable consumers: ${JSON.stringify(await bus.consumers().catch((error) => String(error)))}`);
    if (firstMissing)
      log(
        `first event whose action did not run: published ${new Date(firstMissing.published_at).getTime() - t0} ms into the run (faults at ${faults.map((f) => `${f.name} ${f.start - t0}-${f.end - t0}`).join(', ')} ms)`,
      );
    check(
      'workflow actions exactly once',
      missingRuns === 0 && extraRuns === 0 && dead === 0,
      `${expectedRuns.length} expected, ${missingRuns} missing, ${extraRuns} extra, ${dead} dead letters`,
    );
    const compensationRuns = runs.filter((r) => Object.values(COMPENSATION).includes(r.handler));
    const missingCompensations = expectedCompensations.filter((k) => !ran.has(k)).length;
    const extraCompensations = compensationRuns.filter((r) => r.n > 1 || !expectedCompensations.includes(`${r.handler}/${r.event_id}`)).length;
    check(
      'compensations exactly once',
      expectedCompensations.length > 0 && missingCompensations === 0 && extraCompensations === 0,
      `${expectedCompensations.length} expected (cancelled or expired after approval), ${missingCompensations} missing, ${extraCompensations} extra`,
    );
    // Timers: every prescription left to expire expired exactly once (none lost, none fired twice across the kill).
    const expires = new Map();
    for (const c of changes.filter((c) => c.event === 'expire')) expires.set(c.mr, (expires.get(c.mr) ?? 0) + 1);
    const timersLost = expiring.filter((e) => !expires.has(e.id)).length;
    const timersTwice = [...expires.values()].filter((n) => n > 1).length;
    const fired = (
      await sql.query(
        `SELECT count(*)::int AS n, count(DISTINCT instance_id)::int AS instances FROM workflow_timers WHERE name = 'expiry' AND outcome = 'fired'`,
      )
    ).rows[0];
    check(
      'expiry timers fired exactly once',
      expiring.length > 0 && timersLost === 0 && timersTwice === 0 && fired.n === fired.instances,
      `${expiring.length} prescriptions left to expire, ${timersLost} not expired, ${timersTwice} expired twice; ${fired.n} timers fired for ${fired.instances} prescriptions`,
    );
    const inFault = (at) => faults.some((f) => at >= f.start && at <= f.end + RECOVERY_MS);
    const fivexx = responses.filter((r) => r.status >= 500 || r.status === 0);
    const outside = fivexx.filter((r) => !inFault(r.at)).length;
    check('5xx (or no answer) only during a fault', outside === 0, `${fivexx.length} during faults, ${outside} outside, of ${responses.length} requests`);
    const slowest = Math.max(...faults.flatMap((f) => Object.values(f.ready)));
    check(
      'each instance ready within 10 s after each fault',
      slowest <= RECOVERY_MS,
      faults
        .map(
          (f) =>
            `${f.name}: ${Object.entries(f.ready)
              .map(([k, v]) => `${k} ${v} ms`)
              .join(' ')}`,
        )
        .join('; '),
    );
    const last = faults.at(-1).end + RECOVERY_MS;
    const latency = (from, to) => {
      const byId = new Map();
      for (const s of subscribers)
        for (const e of s.events)
          if (e.type.endsWith('medication_request.created.v1') && e.medicationRequest) byId.set(`${s.name}/${e.medicationRequest.id}`, e.at);
      const values = [];
      for (const a of acknowledged)
        if (a.at >= from && a.at < to)
          for (const s of subscribers.filter((x) => x.tenant === a.tenant))
            if (byId.has(`${s.name}/${a.id}`)) values.push(byId.get(`${s.name}/${a.id}`) - a.at);
      return { p50: p50(values), n: values.length };
    };
    const before = latency(0, preFault);
    const after = latency(last, Infinity);
    check(
      'delivery latency back to pre-fault p50 ×2 within 10 s of the last fault',
      after.n > 0 && after.p50 <= Math.max(2 * before.p50, 20),
      `p50 ack→receipt ${before.p50} ms before faults (n=${before.n}), ${after.p50} ms from 10 s after the last (n=${after.n})`,
    );

    console.log('\n| check | result | figures |\n|---|---|---|');
    for (const r of results) console.log(`| ${r.name} | ${r.ok ? 'pass' : 'FAIL'} | ${r.figure} |`);
    console.log(`| faults | | ${faults.map((f) => `${f.name} ${f.end - f.start} ms`).join('; ')} |`);
    const passed = results.filter((r) => r.ok).length;
    console.log(`\n${passed} passed, ${results.length - passed} failed`);
    process.exitCode = passed === results.length ? 0 : 1;
  } finally {
    stopLoad = true;
    for (const s of subscribers) await s.stop().catch(() => undefined);
    for (const i of instances) await i.stop().catch(() => undefined);
    await sql.end().catch(() => undefined);
    await Promise.all([database.cleanup(), bus.cleanup()]);
  }
}

const guard = setTimeout(
  () => {
    log('the run took too long; giving up');
    process.exit(2);
  },
  quick ? 300_000 : 900_000,
);
guard.unref();
main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    log(`failed: ${error?.stack ?? error}`);
    process.exit(2);
  },
);
