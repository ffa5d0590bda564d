// The benchmark harness (issue 8): `npm run bench` (full, under 10 minutes) or `npm run bench -- --quick`
// (CI smoke test, under 2). Builds the gateway, runs it as a child process against PostgreSQL and NATS
// (or the embedded runtime), measures it next to baselines taken in the same run, and writes
// test/bench/RESULTS.md. Exits 1 when anything answered an error, 2 when the harness itself failed.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { captureStatements } from './lib/capture.mjs';
import { loadDataset, patientId, planDataset, readPharmacies, readSource, requestId, SQL_IDS } from './lib/dataset.mjs';
import { startFloor } from './lib/floor.mjs';
import { recordPerf, startGateway, tokenFor } from './lib/gateway.mjs';
import { runHttp } from './lib/http-load.mjs';
import { describeMachine, fileLimits } from './lib/machine.mjs';
import { buildScript, pgbenchVersion, runPgbench, statementsOf } from './lib/pgbench.mjs';
import { runIdle, runLive, runLiveFiltered, runSoak, runTracing, runWorkflow, statementsPerPage, waitForOutbox, waitForQuiet } from './lib/phases.mjs';
import { renderReport } from './lib/report.mjs';
import {
  completeExisting,
  fhirCreate,
  fhirRead,
  fhirSearch,
  fhirSearchPage,
  floorRequest,
  graphqlCreate,
  graphqlPage,
  newPrescriptions,
} from './lib/scenarios.mjs';
import { adminQuery, BENCH_DB, NATS_STREAM, NATS_SUBJECT_PREFIX, PGBENCH_DB, prepareServices } from './lib/services.mjs';
import { runTimers } from './lib/timers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = `usage: npm run bench [-- options]

Builds the gateway, runs it against PostgreSQL (BENCH_DATABASE_URL, default 127.0.0.1:5432) and NATS
(BENCH_NATS_URL, default 127.0.0.1:4222), or the embedded runtime when they do not answer, measures it
beside baselines taken in the same run, and writes test/bench/RESULTS.md. It creates and drops the
database and streams named by BENCH_NAME (default rxgate_bench).

options:
  --quick              every scenario once, cut down (CI's smoke test, under 2 minutes)
  --soak-seconds <n>   length of the soak (full run: 120)
  --rows <n>           prescriptions loaded before measuring (full run: 100000)
  --out <file>         write the report there instead of test/bench/RESULTS.md
  --keep-database      keep the benchmark database afterwards
  --cpu-prof <dir>     write a V8 CPU profile of the measured gateway there (wall-clock samples)
  --perf <file>        record the measured gateway's CPU with Linux perf there (CPU-clock samples, every
                       thread); summarise with node test/bench/perf-summary.mjs <file>
  --only <list>        run only these scenarios, comma-separated, for quick measuring (the report says so):
                       create, read, search, gqlCreate, gqlPage (with its baseline, FHIR search _count=50), workflow, live, liveFiltered, idle, soak, tracing,
                       timers (timers alone: load the data, then only the timers; the report goes to a temp file unless --out)
  -h, --help           print this help and exit
`;
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string' },
      rows: { type: 'string' },
      out: { type: 'string' },
      'keep-database': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      perf: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  process.stderr.write(`bench: ${error.message.split('\n')[0]}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const SCENARIO_KEYS = ['create', 'read', 'search', 'gqlCreate', 'gqlPage', 'workflow', 'live', 'liveFiltered', 'idle', 'soak', 'tracing', 'timers'];
const only = args.only
  ? new Set(
      args.only
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
  : undefined;
const unknownOnly = [...(only ?? [])].filter((k) => !SCENARIO_KEYS.includes(k));
if (unknownOnly.length > 0) {
  process.stderr.write(`bench: --only: unknown scenario(s) ${unknownOnly.join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
/** Whether a scenario runs (all of them unless --only names some). */
const selected = (key) => !only || only.has(key);

/** Durations and sizes. The full run must stay under 10 minutes, so the soak is shorter than the issue's 10. */
const PROFILE = args.quick
  ? {
      rows: 10_000,
      seconds: 2,
      warmup: 0.5,
      concurrency: [8],
      pgbenchSeconds: 2,
      workflowSeconds: 2,
      live: { subscribers: 100, rate: 20, seconds: 2, burst: 30, drainSeconds: 60, stallSeconds: 15 },
      liveFiltered: { subscribers: 500, rate: 20, seconds: 2 },
      idle: 500,
      soakSeconds: 5,
      pagePharmacies: 2,
      timers: { burst: 1_000, pending: 1_000, paced: 100, pacedRate: 20, timeoutMs: 120_000 },
    }
  : {
      rows: 100_000,
      seconds: 8,
      warmup: 2,
      concurrency: [8, 32],
      pgbenchSeconds: 8,
      workflowSeconds: 8,
      live: { subscribers: 1_000, rate: 20, seconds: 10, burst: 100, drainSeconds: 30, stallSeconds: 5 },
      liveFiltered: { subscribers: 10_000, rate: 200, seconds: 10 },
      idle: 10_000,
      soakSeconds: 120,
      pagePharmacies: 10,
      timers: { burst: 10_000, pending: 10_000, paced: 600, pacedRate: 20, timeoutMs: 600_000 },
    };
if (args.rows) PROFILE.rows = Number(args.rows);
if (args['soak-seconds']) PROFILE.soakSeconds = Number(args['soak-seconds']);

// 10,000 websockets need as many descriptors here and in the gateway: re-run under a raised soft limit.
const limits = fileLimits();
const fdsNeeded = PROFILE.idle + 2_000;
if (limits.soft < fdsNeeded && limits.hard > limits.soft && !process.env.RXGATE_BENCH_REEXEC) {
  const result = spawnSync('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'bench', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, RXGATE_BENCH_REEXEC: '1' },
  });
  process.exit(result.status ?? 2);
}
const idleNote =
  limits.soft < fdsNeeded
    ? `open-files limit ${limits.soft} (hard ${limits.hard}): idle subscribers reduced to ${Math.max(100, limits.soft - 2_000)}`
    : undefined;
if (idleNote) PROFILE.idle = Math.max(100, limits.soft - 2_000);
PROFILE.liveFiltered.subscribers = Math.min(PROFILE.liveFiltered.subscribers, PROFILE.idle);

const started = Date.now();
const log = (message) => {
  const s = Math.round((Date.now() - started) / 1000);
  console.log(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${message}`);
};
const errors = [];
const noteErrors = (where, result) => {
  if (result?.errors > 0) errors.push(`${where}: ${result.errors} error(s)${result.detail ? ` — e.g. ${result.detail}` : ''}`);
  return result;
};
const git = (...a) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();

const children = [];
let services;
const stopAll = async () => {
  for (const child of children.splice(0)) await child.stop().catch(() => undefined);
};
process.on('SIGINT', () => stopAll().finally(() => process.exit(130)));

async function main() {
  log(`rxgate benchmark (${args.quick ? 'quick' : 'full'}): building`);
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');

  services = await prepareServices({
    root: ROOT,
    pgUrl: process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    natsUrl: process.env.BENCH_NATS_URL ?? process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
    log,
  });
  log(`database: ${services.postgres}; bus: ${services.nats}`);
  const gatewayEnv = {
    DATABASE_URL: services.benchUrl,
    ...(services.natsUrl ? { NATS_URL: services.natsUrl, NATS_STREAM, NATS_SUBJECT_PREFIX } : {}),
  };
  const tokens = { ehr: await tokenFor('ehr-backend'), pharmacy: await tokenFor('pharmacy-backend') };
  const source = readSource(ROOT);
  const pharmacies = readPharmacies(ROOT);
  const plan = planDataset(source, pharmacies, PROFILE.rows);
  const rows = PROFILE.rows;
  const patients = plan.patients;

  // 1. Capture gateway: migrations, seed, bulk load, realistic workflows, statement capture.
  const work = await mkdtemp(path.join(tmpdir(), 'rxgate-bench-'));
  const captureFile = path.join(work, 'statements.ndjson');
  log('starting the gateway (capture mode: migrations, seed)');
  const capture = await startGateway({
    root: ROOT,
    env: { ...gatewayEnv, BENCH_SQL_CAPTURE_FILE: captureFile },
    nodeArgs: ['--import', path.join(ROOT, 'test/bench/lib/capture-sql.preload.mjs')],
  });
  children.push(capture);
  const loadStarted = Date.now();
  const pool = new pg.Pool({
    connectionString: services.benchUrl,
    max: 4,
    options: '-c session_replication_role=replica -c synchronous_commit=off -c maintenance_work_mem=256MB',
  });
  await loadDataset({
    pool,
    root: ROOT,
    plan,
    tenant: 'tenant-a',
    onProgress: (n) => n % Math.max(10_000, rows / 5) === 0 && log(`  loaded ${n.toLocaleString('en-US')} prescriptions`),
  });
  await pool.end();
  const loadSeconds = (Date.now() - loadStarted) / 1000;
  log(`pre-loaded ${rows.toLocaleString('en-US')} prescriptions of ${patients.toLocaleString('en-US')} patients in ${loadSeconds.toFixed(1)} s`);
  const timersScenario = () => runTimers({ root: ROOT, gatewayEnv, benchUrl: services.benchUrl, sizes: PROFILE.timers, log, noteErrors, children });
  if (only?.size === 1 && only.has('timers')) {
    await capture.stop();
    children.splice(children.indexOf(capture), 1);
    noteErrors('capture gateway log', { errors: capture.errors.length, detail: capture.errors[0] });
    return writeReport({ sections: [await timersScenario()], targets: [], appendix: '', loadSeconds, rows, patients, pgbenchAvailable: undefined, work });
  }

  // Pages of pharmacy queues show real nesting: a third of each queue's first 50 taken to completed.
  const pagePharmacies = [...plan.perPharmacy.entries()]
    .filter(([, n]) => n >= 50)
    .map(([id]) => id)
    .slice(0, PROFILE.pagePharmacies);
  const toComplete = plan.rows.filter((r) => pagePharmacies.includes(r.pharmacy));
  const perPharmacy = new Map();
  const chosen = toComplete.filter((r) => {
    const n = perPharmacy.get(r.pharmacy) ?? 0;
    perPharmacy.set(r.pharmacy, n + 1);
    return n < 50 && n % 3 === 0;
  });
  if (!selected('gqlPage')) chosen.length = 0; // only the page scenario reads them
  log(`completing ${chosen.length} pre-loaded prescriptions in ${pagePharmacies.length} pharmacy queues through the API`);
  const completion = await Promise.allSettled(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = w; i < chosen.length; i += 8)
        await completeExisting(capture.url, tokens, requestId(chosen[i].k), { medicationCodeableConcept: chosen[i].source.medicationCodeableConcept });
    }),
  );
  for (const failed of completion.filter((c) => c.status === 'rejected')) errors.push(`setup workflows: ${failed.reason.message}`);

  log('capturing the SQL of create, read and search');
  const nextNew = newPrescriptions(source, pharmacies);
  const pick = (n) => 1 + Math.floor(Math.random() * n);
  const json = { authorization: `Bearer ${tokens.ehr}`, 'content-type': 'application/fhir+json' };
  const captured = await captureStatements({
    baseUrl: capture.url,
    captureFile,
    operations: [
      {
        name: 'create',
        // One pharmacy throughout: the directory cache is warm after the first, as under steady load.
        request: () => {
          const body = { ...nextNew(patientId(patients + pick(50_000))) };
          body.dispenseRequest = { ...body.dispenseRequest, performer: { reference: `Organization/${pharmacies[0]}` } };
          return { method: 'POST', path: '/fhir/MedicationRequest', headers: { ...json, 'idempotency-key': crypto.randomUUID() }, body: JSON.stringify(body) };
        },
      },
      {
        name: 'read',
        request: () => {
          const k = pick(rows);
          return {
            method: 'GET',
            path: `/fhir/MedicationRequest/${requestId(k)}`,
            headers: json,
            inputs: [{ value: requestId(k), max: rows, sql: SQL_IDS.request }],
          };
        },
      },
      {
        name: 'search',
        request: () => {
          const j = pick(patients);
          return {
            method: 'GET',
            path: `/fhir/MedicationRequest?patient=${patientId(j)}&_count=20`,
            headers: json,
            inputs: [{ value: patientId(j), max: patients, sql: SQL_IDS.patient }],
          };
        },
      },
    ],
  });
  const scripts = new Map();
  const probe = new pg.Client({ connectionString: services.benchUrl });
  await probe.connect();
  for (const [name, { sample, inputs }] of captured) scripts.set(name, await buildScript({ client: probe, sample, inputs }));
  // The minimal create (issue 18): the captured create's three essential INSERTs — the resource with its
  // search columns, the outbox row, the idempotency record — in one transaction, with the same values.
  const create = scripts.get('create');
  if (create) {
    const lines = create.script.split('\n');
    // The gateway sends its writes as one statement of CTEs with the COMMIT: take the INSERTs back out.
    const essential = lines
      .flatMap((l) => l.replace(/;$/, '').split(' \\; '))
      .flatMap(statementsOf)
      .filter((l) => /^INSERT INTO (medication_requests|"outbox"|"idempotency_keys")[ (]/.test(l))
      .map((l) => `${l};`);
    if (essential.length === 3)
      scripts.set('createMinimal', {
        ...create,
        roundTrips: 5,
        script: [...lines.filter((l) => l.startsWith('\\set ')), 'BEGIN;', ...essential, 'COMMIT;', ''].join('\n'),
      });
  }
  await probe.end();
  await capture.stop();
  children.splice(children.indexOf(capture), 1);
  noteErrors('capture gateway log', { errors: capture.errors.length, detail: capture.errors[0] });

  // 2. Database limit: pgbench on a copy of the same database, with no gateway running.
  const pgbench = new Map();
  const pgbenchAvailable = await pgbenchVersion();
  if (pgbenchAvailable && ['create', 'read', 'search'].some(selected)) {
    // The capture gateway's last connections may take a moment to go: a template must have none.
    for (let attempt = 1; ; attempt++) {
      try {
        await adminQuery(services.adminUrl, `CREATE DATABASE ${PGBENCH_DB} TEMPLATE ${BENCH_DB}`);
        break;
      } catch (error) {
        if (attempt >= 20 || !/being accessed by other users/.test(error.message)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    const baselineOf = (name) => (name === 'createMinimal' ? 'create' : name);
    for (const [name, script] of [...scripts].filter(([name]) => selected(baselineOf(name)))) {
      for (const c of PROFILE.concurrency) {
        log(`pgbench ${name} (${script.roundTrips} round trips) c=${c}, ${PROFILE.pgbenchSeconds} s`);
        const result = await runPgbench({
          url: services.pgbenchUrl,
          script: script.script,
          defines: script.defines,
          clients: c,
          seconds: PROFILE.pgbenchSeconds,
        });
        pgbench.set(`${name}:${c}`, noteErrors(`pgbench ${name} c=${c}`, { label: `pgbench ${name}`, concurrency: c, ...result }));
      }
    }
    await adminQuery(services.adminUrl, `DROP DATABASE ${PGBENCH_DB} WITH (FORCE)`);
  } else log(pgbenchAvailable ? 'no pgbench baseline among the selected scenarios' : 'pgbench not found: database baselines not measured');

  // 2b. The floor: a bare node:http + pg server sending the same SQL, driven like the gateway (no gateway running).
  const floor = new Map();
  const floorScripts = Object.fromEntries(['read', 'search'].filter((name) => selected(name) && scripts.has(name)).map((name) => [name, scripts.get(name)]));
  if (Object.keys(floorScripts).length > 0) {
    log('starting the floor server (node:http + pg, the captured SQL)');
    const server = await startFloor({ databaseUrl: services.benchUrl, scripts: floorScripts });
    children.push(server);
    for (const name of Object.keys(floorScripts)) {
      for (const c of PROFILE.concurrency) {
        log(`floor ${name} c=${c}, ${PROFILE.seconds} s`);
        const result = await runHttp({
          url: server.url,
          pid: server.pid,
          connections: c,
          seconds: PROFILE.seconds,
          warmupSeconds: PROFILE.warmup,
          request: floorRequest(name, name === 'read' ? rows : patients),
        });
        const baseline = pgbench.get(`${name}:${c}`);
        floor.set(
          `${name}:${c}`,
          noteErrors(`floor ${name} c=${c}`, {
            label: `floor: node:http + pg, same SQL (${name})`,
            concurrency: c,
            ...result,
            baselineLabel: baseline?.label,
            ratio: baseline?.rps ? result.rps / baseline.rps : undefined,
          }),
        );
      }
    }
    await server.stop();
    children.splice(children.indexOf(server), 1);
  }

  // 3. The gateway under load.
  log('starting the gateway (measured)');
  const cpuProfDir = args['cpu-prof'] ? path.resolve(args['cpu-prof']) : undefined;
  const profileArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const perfFile = args.perf ? path.resolve(args.perf) : undefined;
  const gateway = await startGateway({ root: ROOT, env: gatewayEnv, nodeArgs: [...profileArgs, ...(perfFile ? ['--perf-basic-prof'] : [])] });
  children.push(gateway);
  const perfRecording = perfFile ? recordPerf(gateway.pid, perfFile) : undefined;
  const idleSection = selected('idle') ? await runIdle({ gateway, tokens, PROFILE, log, noteErrors, idleNote }) : undefined;
  const load = async (label, c, request, baseline) => {
    log(`${label} c=${c}, ${PROFILE.seconds} s`);
    const result = await runHttp({ url: gateway.url, pid: gateway.pid, connections: c, seconds: PROFILE.seconds, warmupSeconds: PROFILE.warmup, request });
    const row = noteErrors(`${label} c=${c}`, {
      label,
      concurrency: c,
      ...result,
      baselineLabel: baseline?.label,
      ratio: baseline?.rps ? result.rps / baseline.rps : undefined,
    });
    log(`  ${Math.round(row.rps)} req/s, p99 ${row.p99?.toFixed(1)} ms, ${row.errors} errors`);
    return row;
  };
  const sections = [];
  const byKey = new Map();
  const scenarios = [
    ['FHIR create (Idempotency-Key)', 'create', () => fhirCreate({ token: tokens.ehr, next: () => nextNew(patientId(patients + pick(50_000))) })],
    ['FHIR read by id', 'read', () => fhirRead({ token: tokens.ehr, rows })],
    ['FHIR search by patient (_count=20)', 'search', () => fhirSearch({ token: tokens.ehr, patients })],
    ['GraphQL createMedicationRequest', 'gqlCreate', () => graphqlCreate({ token: tokens.ehr, next: () => nextNew(patientId(patients + pick(50_000))) })],
    ['FHIR search by pharmacy (_count=50)', 'search50', () => fhirSearchPage({ token: tokens.ehr, pharmacies: pagePharmacies })],
    ['GraphQL medicationRequests(first: 50), nested', 'gqlPage', () => graphqlPage({ token: tokens.ehr, pharmacies: pagePharmacies })],
  ];
  for (const [label, key, request] of scenarios.filter(([, key]) => selected(key === 'search50' ? 'gqlPage' : key))) {
    const rowsOut = [];
    for (const c of PROFILE.concurrency) {
      const baseline =
        key === 'gqlCreate'
          ? { label: 'FHIR create', rps: byKey.get(`create:${c}`)?.rps }
          : key === 'gqlPage'
            ? { label: 'FHIR search _count=50', rps: byKey.get(`search50:${c}`)?.rps }
            : pgbench.get(`${key}:${c}`);
      const row = await load(label, c, request(), baseline && { label: baseline.label, rps: baseline.rps });
      byKey.set(`${key}:${c}`, row);
      rowsOut.push(...[`${key}:${c}`, `${key}Minimal:${c}`].filter((k) => pgbench.has(k)).map((k) => pgbench.get(k)));
      if (floor.has(`${key}:${c}`)) rowsOut.push(floor.get(`${key}:${c}`));
      rowsOut.push(row);
    }
    const notes = [];
    if (PROFILE.concurrency.some((c) => floor.has(`${key}:${c}`)))
      notes.push(
        `The floor row is a bare node:http server (floor-server.mjs: no framework, authentication, audit or metrics) sending the same captured SQL through the same driver and pool size, and writing the stored JSON as it is read; autocannon drives it as it drives the gateway, with no gateway running. The gateway reached ${PROFILE.concurrency
          .map((c) => `${Math.round((100 * byKey.get(`${key}:${c}`)?.rps) / floor.get(`${key}:${c}`)?.rps)} % of it at c=${c}`)
          .join(', ')}.`,
      );
    if (key === 'create' || key === 'gqlCreate') {
      // Writes leave work behind (relay, workflow actions, fan-out): the next rows start once it is done.
      const quiet = await waitForQuiet(gateway, 120_000);
      notes.push(
        quiet.left === 0
          ? `Outbox published and every stream consumer caught up ${(quiet.ms / 1000).toFixed(1)} s after the last write; the next rows started then.`
          : `${quiet.left} events still unpublished or unconsumed after ${quiet.ms / 1000} s.`,
      );
    }
    sections.push({ title: label, rows: rowsOut, notes });
  }
  const page = selected('gqlPage') && (await statementsPerPage(gateway, tokens, pagePharmacies[0]));
  if (page)
    sections
      .at(-1)
      .notes.push(
        `SQL statements per page (rxgate_db_statements_per_request): ${page.average.toFixed(1)} on average over the run; one page of 10 issued ${page.first10}, one of 50 issued ${page.first50}.`,
        `Pages come from ${pagePharmacies.length} pharmacy queues; about a third of each queue's first 50 prescriptions were taken to completed (5 transitions, 1 dispense), the rest are as created.`,
      );
  await waitForOutbox(gateway, 120_000);

  if (selected('workflow'))
    sections.push(await runWorkflow({ gateway, tokens, nextNew, PROFILE, log, noteErrors, patientFor: () => patientId(patients + pick(50_000)) }));
  if (selected('live')) sections.push(await runLive({ gateway, tokens, nextNew, PROFILE, log, noteErrors }));
  if (selected('liveFiltered')) sections.push(await runLiveFiltered({ gateway, tokens, nextNew, PROFILE, log, noteErrors }));
  if (idleSection) sections.push(idleSection);
  // Tracing off is measured on this gateway, which then stops; tracing on on a fresh one.
  const tracing = selected('tracing')
    ? await runTracing({
        root: ROOT,
        gatewayEnv,
        tokens,
        nextNew,
        PROFILE,
        log,
        noteErrors,
        children,
        offGateway: gateway,
        nodeArgs: profileArgs,
        patientFor: () => patientId(patients + pick(50_000)),
      })
    : (await gateway.stop(), undefined);
  children.splice(children.indexOf(gateway), 1);
  if (perfRecording) {
    await perfRecording.done;
    log(`perf profile of the measured gateway: ${perfFile} (summary: node test/bench/perf-summary.mjs ${perfFile})`);
  }
  noteErrors('gateway log', { errors: gateway.errors.length, detail: gateway.errors[0] });

  // The soak on a fresh process, so that its memory is the soak's own, not the earlier scenarios'.
  if (selected('soak')) {
    const maxCreate = Math.max(...PROFILE.concurrency.map((c) => byKey.get(`create:${c}`)?.rps ?? 0));
    log('starting a fresh gateway for the soak');
    const soakGateway = await startGateway({ root: ROOT, env: gatewayEnv });
    children.push(soakGateway);
    sections.push(
      await runSoak({
        gateway: soakGateway,
        tokens,
        nextNew,
        PROFILE,
        log,
        noteErrors,
        rate: Math.max(1, Math.floor(maxCreate / 2)),
        patientFor: () => patientId(patients + pick(50_000)),
      }),
    );
    await soakGateway.stop();
    children.splice(children.indexOf(soakGateway), 1);
    noteErrors('soak gateway log', { errors: soakGateway.errors.length, detail: soakGateway.errors[0] });
  }
  if (selected('timers')) sections.push(await timersScenario());
  if (tracing) sections.push(tracing);

  // 4. Report.
  const targets = (await import('./lib/targets.mjs')).evaluateTargets({ byKey, pgbench, floor, sections, PROFILE });
  const appendix = `## Appendix: pgbench scripts (captured from the gateway in this run)\n\nRun with \`pgbench -n -M simple\`, one line per round trip of the gateway (\`\\;\` joins what it sent as one string); \`:cN\` are the captured request's constant values, passed with \`-D\` as quoted literals, \`:uN\` fresh uuids, \`:inN\` the pre-loaded prescription or patient drawn per transaction.\n\n${[
    ...scripts,
  ]
    .map(([name, s]) => `<details><summary>${name} (${s.roundTrips} round trips)</summary>\n\n\`\`\`sql\n${s.script}\`\`\`\n</details>\n`)
    .join('\n')}`;
  return writeReport({ sections, targets, appendix, loadSeconds, rows, patients, pgbenchAvailable, work });
}

async function writeReport({ sections, targets, appendix, loadSeconds, rows, patients, pgbenchAvailable, work }) {
  const machine = describeMachine();
  const commit = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=no');
  const totalSeconds = (Date.now() - started) / 1000;
  const busy = sections.flatMap((section) => section.rows.map((row) => row.machineBusyPercent)).filter((v) => v !== undefined);
  const report = renderReport({
    title: `rxgate benchmark — ${args.quick ? 'quick (smoke test: sizes and durations cut down)' : 'full run'}${only ? ` — only ${[...only].join(', ')}` : ''}${services.embedded ? ' — EMBEDDED runtime, not the real services' : ''}`,
    status: errors.length === 0 ? '**Errors: none.**' : `**ERRORS (${errors.length}):**\n\n${errors.map((e) => `- ${e}`).join('\n')}`,
    conditions: [
      `Commit ${commit}${dirty ? ' with uncommitted changes in the working tree (other work in progress was built and measured)' : ''}; ${new Date().toISOString()}; the run took ${Math.round(totalSeconds)} s.`,
      `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}.`,
      `Database: ${services.postgres}. Bus: ${services.nats}. pgbench: ${pgbenchAvailable ?? 'not installed'}.`,
      `Gateway: one process (node dist/src/main.js, NODE_ENV=production, rate limits off, DB_POOL_SIZE default 20), driven from this process over loopback (autocannon ${PROFILE.seconds} s after ${PROFILE.warmup} s of warm-up per row; graphql-ws clients). Driver, gateway, PostgreSQL and NATS share the machine's cores; "machine busy" is all cores over the row's window, so anything above what this run explains is someone else's work.`,
      `Load on the machine while the gateway rows ran: all cores ${busy.length ? `${Math.round(Math.min(...busy))}–${Math.round(Math.max(...busy))}` : '?'} % busy (driver, gateway, PostgreSQL and NATS together take most of it; what they do not explain is other work on the machine, e.g. other engineers' test runs). Treat the absolute figures as indicative for this machine at that moment, not as authoritative.`,
      `Data: ${rows.toLocaleString('en-US')} pre-loaded prescriptions of ${patients.toLocaleString('en-US')} patients (Synthea MedicationRequests from test/bench/data with a directory pharmacy and a quantity), loaded in ${loadSeconds.toFixed(1)} s.`,
      "Ratios are to the baseline measured in this same run: pgbench running the SQL captured from the gateway's own requests (appendix), the bare graphql-ws server, or the FHIR create. Absolute figures on a shared 2-core machine drift between runs; ratios less so. A single run is one sample.",
    ],
    sections,
    targets,
    appendix,
  });
  console.log(`\n${report}`);
  const out = args.out
    ? path.resolve(args.out)
    : args.quick || args.only
      ? path.join(tmpdir(), `rxgate-bench-RESULTS-${args.only ?? 'quick'}.md`)
      : path.join(ROOT, 'test/bench/RESULTS.md');
  await writeFile(out, report);
  log(`written to ${out}`);
  await rm(work, { recursive: true, force: true });
  return errors.length === 0 ? 0 : 1;
}

let code = 2;
try {
  code = await main();
} catch (error) {
  console.error(`benchmark failed: ${error.stack ?? error}`);
} finally {
  await stopAll();
  await services?.close({ keepDatabase: args['keep-database'] });
}
if (code === 1) console.error(`\nTHE RUN HAD ERRORS:\n${errors.join('\n')}`);
process.exit(code);
