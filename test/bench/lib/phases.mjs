// The scenarios after the plain HTTP ones: full workflows, live delivery against the bare
// graphql-ws baseline, idle subscribers' memory, the soak, and tracing off versus on.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { histogram, startGateway } from './gateway.mjs';
import { runHttp, runPaced } from './http-load.mjs';
import { connectSubscribers, createCollector, drain, startBareServer } from './live.mjs';
import { rssBytes, startWindow } from './machine.mjs';
import { startOtlpSink } from './otlp-sink.mjs';
import { closedLoop, fhirCreate, fullWorkflow, pageQuery } from './scenarios.mjs';
import { sleep, waitFor } from './stats.mjs';

const CREATED = 'eprescribing.medication_request.created.v1';

/** Statements of the page query: the scenario's average, and one page of 10 against one of 50. */
export async function statementsPerPage(gateway, tokens, pharmacy) {
  const average = await histogram(gateway.url, 'rxgate_db_statements_per_request', 'route="graphql:BenchPage"');
  const one = async (first) => {
    const name = `BenchPageOf${first}`;
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.ehr}`, 'content-type': 'application/json' },
      body: JSON.stringify({ operationName: name, query: pageQuery(name, first), variables: { pharmacy } }),
    });
    await response.text();
    return (await histogram(gateway.url, 'rxgate_db_statements_per_request', `route="graphql:${name}"`)).sum;
  };
  return { average: average.count ? average.sum / average.count : NaN, first10: await one(10), first50: await one(50) };
}

/** Waits until the relay has published every committed event (rxgate_outbox_backlog_events = 0). */
export async function waitForOutbox(gateway, ms) {
  const started = Date.now();
  let backlog;
  await waitFor(
    async () => {
      const text = await fetch(`${gateway.url}/metrics`).then((r) => r.text());
      backlog = Number(/^rxgate_outbox_backlog_events (\S+)/m.exec(text)?.[1] ?? NaN);
      return backlog === 0;
    },
    ms,
    250,
  );
  return { backlog, ms: Date.now() - started };
}

/**
 * Waits until the gateway has nothing left over from the writes before: the outbox published and every
 * stream consumer (workflow actions, live fan-out) caught up. The rows after a write scenario measure
 * their own requests, not the work those writes left behind.
 */
export async function waitForQuiet(gateway, ms) {
  const started = Date.now();
  let left;
  await waitFor(
    async () => {
      const text = await fetch(`${gateway.url}/metrics`).then((r) => r.text());
      const backlog = Number(/^rxgate_outbox_backlog_events (\S+)/m.exec(text)?.[1] ?? NaN);
      const lags = [...text.matchAll(/^rxgate_stream_consumer_lag_messages\{[^}]*\} (\S+)/gm)].map((m) => Number(m[1]));
      left = backlog + lags.reduce((a, b) => a + b, 0);
      return left === 0;
    },
    ms,
    250,
  );
  return { left, ms: Date.now() - started };
}

export async function runWorkflow({ gateway, tokens, nextNew, PROFILE, log, noteErrors, patientFor }) {
  const rows = [];
  for (const c of PROFILE.concurrency) {
    log(`full workflow (create → approve → process → dispense → complete) c=${c}, ${PROFILE.workflowSeconds} s`);
    const window = startWindow(gateway.pid);
    const result = await closedLoop({ concurrency: c, seconds: PROFILE.workflowSeconds, work: () => fullWorkflow(gateway.url, tokens, nextNew(patientFor())) });
    rows.push(noteErrors(`workflow c=${c}`, { label: 'full workflow (5 requests)', concurrency: c, ...result, ...window() }));
    log(`  ${result.rps.toFixed(1)} workflows/s, ${result.errors} errors`);
  }
  return {
    title: 'Full workflow per second',
    rows,
    notes: [
      'req/s here is workflows per second; p50/p99 are of a whole workflow (five sequential requests: FHIR create and Task approve as the EHR, GraphQL PROCESS, FHIR MedicationDispense and GraphQL COMPLETE as the pharmacy).',
    ],
  };
}

const LIVE_COLUMNS = [
  ['scenario', 'label', 'text'],
  ['subscribers', 'subscribers', 'int'],
  ['events', 'events', 'int'],
  ['deliveries/s', 'rps', 'int'],
  ['p50 ms', 'p50', 'ms'],
  ['p99 ms', 'p99', 'ms'],
  ['max ms', 'max', 'ms'],
  ['late', 'late', 'int'],
  ['errors', 'errors', 'int'],
  ['server CPU', 'cpuPercent', 'pct'],
  ['machine busy', 'machineBusyPercent', 'pct'],
  ['ratio', 'ratio', 'ratio'],
];

/**
 * One side of the live comparison: `subscribers` clients; events at a fixed rate (latency), then a
 * burst as fast as the source goes (broadcast rate). `emit(events, rate)` produces the events and
 * answers how many were committed.
 */
async function liveSide({ label, wsUrl, token, query, pid, subscribers, emit, PROFILE, log }) {
  const collector = createCollector();
  log(`${label}: connecting ${subscribers} subscribers`);
  const clients = await connectSubscribers({ wsUrl, token, count: subscribers, query, collector });
  // Every subscription is live once a probe event reached all of them.
  await emit(1, 0);
  await drain(collector, subscribers, 20_000);
  const ready = collector.unique();
  const sample = collector.sample;
  const out = [];
  const repeatsAndClosed = () => collector.received - collector.unique() + collector.errors.length;
  try {
    for (const [phase, events, rate] of [
      [`at ${PROFILE.live.rate} events/s`, PROFILE.live.rate * PROFILE.live.seconds, PROFILE.live.rate],
      ['burst', PROFILE.live.burst, 0],
    ]) {
      collector.reset();
      collector.errors.length = 0;
      log(`${label}: ${events} events ${rate ? `at ${rate}/s` : 'as fast as possible'}`);
      const window = startWindow(pid);
      const t0 = Date.now();
      const committed = await emit(events, rate);
      const expected = committed.ok * subscribers;
      const { missing, late } = await drain(collector, expected, PROFILE.live.drainSeconds * 1000, PROFILE.live.stallSeconds * 1000);
      const usage = window();
      // Deliveries still on their way count as the slowest in the percentiles (shown as "late").
      for (let i = 0; i < late; i++) collector.latencies.push(Infinity);
      const errors = missing + repeatsAndClosed() + committed.errors + (ready < subscribers ? subscribers - ready : 0);
      const seconds = ((collector.lastAt ?? Date.now()) - t0) / 1000;
      out.push({
        label: `${label}, ${phase}`,
        subscribers,
        events: committed.ok,
        rps: collector.unique() / seconds,
        ...collector.summary(),
        late,
        errors,
        detail: collector.errors[0] ?? committed.detail ?? (errors ? `${collector.unique()} of ${expected} deliveries, then nothing for 5 s` : undefined),
        cpuPercent: usage.cpuPercent,
        machineBusyPercent: usage.machineBusyPercent,
      });
    }
  } finally {
    await clients.close();
  }
  return { rows: out, sample };
}

export async function runLive({ gateway, tokens, nextNew, PROFILE, log, noteErrors }) {
  const { subscribers } = PROFILE.live;
  // One patient of its own, so that nothing else written during the run reaches these subscribers.
  const patient = `live-${randomUUID()}`;
  const query = `subscription BenchLive { prescriptionEvents(filter: { patient: "${patient}", types: ["${CREATED}"] }) { eventId type sequence occurredAt event to medicationRequest { id workflowStatus } } }`;
  const create = fhirCreate({ token: tokens.ehr, next: () => nextNew(patient) });
  const emitWrites = async (events, rate) => {
    // At a fixed rate, evenly spaced as the bare server's events are; a burst as fast as 16 connections go.
    const result = rate
      ? await runPaced({ url: gateway.url, rate, amount: events, request: create })
      : await runHttp({ url: gateway.url, pid: gateway.pid, connections: 16, amount: events, request: create });
    return { ok: result.ok, errors: result.errors, detail: result.detail };
  };
  const live = await liveSide({
    label: 'rxgate',
    wsUrl: gateway.wsUrl,
    token: tokens.ehr,
    query,
    pid: gateway.pid,
    subscribers,
    emit: emitWrites,
    PROFILE,
    log,
  });

  const bare = await startBareServer();
  let baseline;
  try {
    const payload = live.sample ?? {
      eventId: randomUUID(),
      type: CREATED,
      event: 'request',
      to: 'requested',
      medicationRequest: { id: randomUUID(), workflowStatus: 'REQUESTED' },
    };
    const emitBare = async (events, rate) => ({ ok: await bare.publish(payload, events, rate), errors: 0 });
    baseline = await liveSide({
      label: 'bare graphql-ws',
      wsUrl: bare.wsUrl,
      query: 'subscription { prescriptionEvents }',
      pid: bare.pid,
      subscribers,
      emit: emitBare,
      PROFILE,
      log,
    });
  } finally {
    await bare.stop();
  }
  live.rows.forEach((row, i) => {
    // At a fixed rate both sides deliver what is sent; only the burst compares broadcast rates.
    if (row.label.endsWith('burst')) row.ratio = baseline.rows[i] ? row.rps / baseline.rows[i].rps : undefined;
    noteErrors(`live ${row.label}`, row);
  });
  baseline.rows.forEach((row) => noteErrors(`live ${row.label}`, row));

  return {
    title: `Live delivery: commit → receipt, ${subscribers} subscribers`,
    columns: LIVE_COLUMNS,
    rows: [...live.rows, ...baseline.rows],
    notes: [
      "Latency is receipt time minus the event's occurredAt, which the gateway stamps in the writing transaction just before commit (an upper bound on commit → receipt). Both clocks are this machine's. At a fixed rate the creates are evenly spaced by the clock, as the bare server's events are (autocannon's own rate limit sends each second's quota at once: a burst once a second).",
      "The burst row's deliveries/s is the broadcast rate (unique deliveries / time from the first write to the last receipt); ratio = rxgate / bare graphql-ws server sending the same payload to the same number of subscribers. The subscribers run in the driver process for both.",
      `Errors count lost deliveries (none arrived for ${PROFILE.live.stallSeconds} s while some were missing), repeated deliveries, closed subscribers and failed writes; "late" counts deliveries still arriving ${PROFILE.live.drainSeconds} s after the last write, when the wait ended: slow, not lost (they count as the slowest in p50/p99, shown as "late").`,
    ],
  };
}

/**
 * The realistic live case: many subscribers, each filtered on a patient of its own, and creates at a
 * fixed rate spread over those patients — each event matches one subscriber, so its cost must not
 * grow with all of them.
 */
export async function runLiveFiltered({ gateway, tokens, nextNew, PROFILE, log, noteErrors }) {
  const { subscribers, rate, seconds } = PROFILE.liveFiltered;
  const run = randomUUID().slice(0, 8);
  const patientOf = (i) => `livef-${run}-${i}`;
  const query = (i) =>
    `subscription BenchFiltered { prescriptionEvents(filter: { patient: "${patientOf(i)}", types: ["${CREATED}"] }) { eventId type sequence occurredAt event to medicationRequest { id workflowStatus } } }`;
  const collector = createCollector();
  log(`rxgate: connecting ${subscribers} subscribers, each filtered on its own patient`);
  const clients = await connectSubscribers({ wsUrl: gateway.wsUrl, token: tokens.ehr, count: subscribers, query, collector, batch: 100 });
  const rows = [];
  try {
    const events = rate * seconds;
    log(`rxgate: ${events} events at ${rate}/s over ${subscribers} patients`);
    const window = startWindow(gateway.pid);
    const t0 = Date.now();
    const result = await runPaced({
      url: gateway.url,
      rate,
      amount: events,
      request: fhirCreate({ token: tokens.ehr, next: () => nextNew(patientOf(Math.floor(Math.random() * subscribers))) }),
    });
    const { missing, late } = await drain(collector, result.ok, PROFILE.live.drainSeconds * 1000, PROFILE.live.stallSeconds * 1000);
    const usage = window();
    for (let i = 0; i < late; i++) collector.latencies.push(Infinity);
    const errors = missing + (collector.received - collector.unique()) + collector.errors.length + result.errors;
    rows.push(
      noteErrors('live filtered', {
        label: `rxgate, each on its own patient, at ${rate} events/s`,
        subscribers,
        events: result.ok,
        rps: collector.unique() / (((collector.lastAt ?? Date.now()) - t0) / 1000),
        ...collector.summary(),
        late,
        errors,
        detail: collector.errors[0] ?? result.detail,
        cpuPercent: usage.cpuPercent,
        machineBusyPercent: usage.machineBusyPercent,
      }),
    );
  } finally {
    await clients.close();
  }
  return {
    title: `Live delivery, filtered: ${subscribers} subscribers each on its own patient`,
    columns: LIVE_COLUMNS,
    rows,
    notes: [
      "Each event (a FHIR create for one of the subscribers' patients, drawn at random) matches exactly one subscriber; latency as above (occurredAt → receipt); the creates are sent at the given rate, evenly spaced by the clock (autocannon's own rate limit sends each second's quota at once).",
    ],
  };
}

/** Resident memory of a freshly started gateway before and with PROFILE.idle idle subscribers. */
export async function runIdle({ gateway, tokens, PROFILE, log, noteErrors, idleNote }) {
  const query = `subscription BenchIdle { prescriptionEvents(filter: { patient: "idle-${randomUUID()}" }) { eventId occurredAt } }`;
  const rssBefore = rssBytes(gateway.pid);
  log(`idle: connecting ${PROFILE.idle} subscribers`);
  const idleCollector = createCollector();
  const idleWindow = startWindow(gateway.pid);
  const idle = await connectSubscribers({ wsUrl: gateway.wsUrl, token: tokens.ehr, count: PROFILE.idle, query, collector: idleCollector, batch: 500 });
  await sleep(3000);
  const rssIdle = rssBytes(gateway.pid);
  const idleUsage = idleWindow();
  await idle.close();
  const idleRow = noteErrors('idle subscribers', {
    label: 'idle subscribers',
    subscribers: PROFILE.idle,
    rssBefore,
    rss: rssIdle,
    perSubscriber: (rssIdle - rssBefore) / PROFILE.idle,
    errors: idleCollector.errors.length,
    detail: idleCollector.errors[0],
    ...idleUsage,
  });
  log(`  RSS ${(rssIdle / 2 ** 20).toFixed(0)} MiB with ${PROFILE.idle} idle subscribers (${(rssBefore / 2 ** 20).toFixed(0)} MiB before)`);

  return {
    title: 'Idle subscribers: resident memory',
    columns: [
      ['scenario', 'label', 'text'],
      ['subscribers', 'subscribers', 'int'],
      ['RSS before', 'rssBefore', 'mib'],
      ['RSS with them', 'rss', 'mib'],
      ['per subscriber', 'perSubscriber', 'int'],
      ['errors', 'errors', 'int'],
    ],
    rows: [idleRow],
    notes: [
      'Measured first, on the freshly started gateway. Per subscriber in bytes: the RSS difference over the number of subscribers, each a graphql-ws connection with one subscription.',
      ...(idleNote ? [idleNote] : []),
    ],
  };
}

export async function runSoak({ gateway, tokens, nextNew, PROFILE, log, noteErrors, rate, patientFor }) {
  const seconds = PROFILE.soakSeconds;
  log(`soak: FHIR create at ${rate}/s (half the best create rate) for ${seconds} s`);
  const samples = [];
  const sampler = setInterval(() => samples.push({ t: samples.length + 1, rss: rssBytes(gateway.pid) }), 1000);
  const result = await runHttp({
    url: gateway.url,
    pid: gateway.pid,
    connections: 8,
    seconds,
    overallRate: rate,
    request: fhirCreate({ token: tokens.ehr, next: () => nextNew(patientFor()) }),
    onTick: (n) => samples.length % 30 === 0 && log(`  soak ${samples.length} s, ${n} creates`),
  });
  clearInterval(sampler);
  const warmAt = Math.max(5, Math.floor(seconds * 0.2));
  const warm = samples[Math.min(samples.length - 1, warmAt - 1)]?.rss;
  const end = samples.at(-1)?.rss;
  const drain = await waitForOutbox(gateway, 60_000);
  const row = noteErrors('soak', {
    label: `FHIR create at ${rate}/s`,
    concurrency: 8,
    ...result,
    warm,
    end,
    peak: Math.max(...samples.map((s) => s.rss)),
    growth: warm ? (end - warm) / warm : undefined,
  });
  return {
    title: `Soak: ${seconds} s of creates at half the maximum rate`,
    columns: [
      ['scenario', 'label', 'text'],
      ['req/s', 'rps', 'int'],
      ['p50 ms', 'p50', 'ms'],
      ['p99 ms', 'p99', 'ms'],
      ['errors', 'errors', 'int'],
      ['gateway CPU', 'cpuPercent', 'pct'],
      [`RSS at ${warmAt} s`, 'warm', 'mib'],
      ['RSS at end', 'end', 'mib'],
      ['peak', 'peak', 'mib'],
      ['growth', 'growth', 'ratio'],
    ],
    rows: [row],
    notes: [
      `The issue asks for 10 minutes; the whole full run must take under 10, so the soak lasts ${seconds} s (\`npm run bench -- --soak-seconds 600\` for the long one), on a freshly started gateway. RSS after warm-up is taken at ${warmAt} s.`,
      `Outbox after the soak: ${drain.backlog === 0 ? `drained within ${(drain.ms / 1000).toFixed(1)} s` : `${drain.backlog} events unpublished after ${drain.ms / 1000} s`}.`,
    ],
  };
}

/** How many times the usual warm-up a freshly started gateway gets before a row that compares it with a warm one. */
const FRESH_WARMUP_FACTOR = 5;

/**
 * FHIR create with tracing on: a gateway started with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a
 * local sink. Whether tracing exists in this build is told by the sink: no export, no tracing.
 */
export async function runTracing({ root, gatewayEnv, tokens, nextNew, PROFILE, log, noteErrors, children, offGateway, patientFor, nodeArgs = [] }) {
  const c = PROFILE.concurrency.at(-1);
  const create = () => fhirCreate({ token: tokens.ehr, next: () => nextNew(patientFor()) });
  // Off and on back to back, so that the machine's load drifts as little as possible between them.
  log(`FHIR create, tracing off, c=${c}, ${PROFILE.seconds} s`);
  const off = await runHttp({
    url: offGateway.url,
    pid: offGateway.pid,
    connections: c,
    seconds: PROFILE.seconds,
    warmupSeconds: PROFILE.warmup,
    request: create(),
  });
  const tracingOff = noteErrors('FHIR create, tracing off', { label: 'FHIR create, tracing off', concurrency: c, ...off });
  await offGateway.stop();
  const sink = await startOtlpSink();
  log('tracing: starting a gateway with OTEL_EXPORTER_OTLP_ENDPOINT set');
  const gateway = await startGateway({ root, nodeArgs, env: { ...gatewayEnv, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'rxgate-bench' } });
  children.push(gateway);
  let result;
  try {
    log(`FHIR create, tracing on, c=${c}, ${PROFILE.seconds} s`);
    // A fresh process runs unoptimised code for its first thousand or so requests; the tracing-off
    // gateway has served every earlier row, so this one warms up longer to be compared in the same state.
    result = await runHttp({
      url: gateway.url,
      pid: gateway.pid,
      connections: c,
      seconds: PROFILE.seconds,
      warmupSeconds: FRESH_WARMUP_FACTOR * PROFILE.warmup,
      request: create(),
    });
  } finally {
    await gateway.stop(); // a graceful stop flushes the span exporter
    children.splice(children.indexOf(gateway), 1);
    await sink.close();
  }
  const available = sink.stats.posts > 0;
  const offCost = await tracingOffCost(root, tracingOff);
  noteErrors('tracing gateway log', { errors: gateway.errors.length, detail: gateway.errors[0] });
  const row = noteErrors('FHIR create, tracing on', {
    label: available ? 'FHIR create, tracing on' : 'FHIR create, tracing requested (not available)',
    concurrency: c,
    ...result,
    baselineLabel: 'tracing off',
    ratio: available && tracingOff ? result.rps / tracingOff.rps : undefined,
  });
  return {
    title: 'Tracing cost: FHIR create, tracing off vs on',
    rows: [tracingOff, row],
    notes: [
      available
        ? `Tracing on: ${sink.stats.posts} OTLP exports (${(sink.stats.bytes / 1024).toFixed(0)} KiB, ${[...sink.stats.paths].join(', ')}) reached the harness's sink.`
        : 'Tracing not available: the gateway started with OTEL_EXPORTER_OTLP_ENDPOINT exported nothing to the sink, so this build has no tracing (the row measures the same code as tracing off).',
      `Tracing off: the measured gateway, right before it stopped; tracing on: a gateway started right after with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local sink that answers 200 to every export (the gateway's default sampling), warmed up ${FRESH_WARMUP_FACTOR * PROFILE.warmup} s instead of ${PROFILE.warmup} s because it is a fresh process (with the same ${PROFILE.warmup} s as the others, its row measured V8 still optimising: 51 % where a 12 s warm-up gave 115 %, same machine, one run each).`,
      ...(offCost ? [offCost.note] : []),
    ],
    tracingAvailable: available,
    tracingOffShare: offCost?.share,
  };
}

/**
 * Span-helper calls a FHIR create makes with tracing off, counted in the sources: the relay's publish
 * span, the outbox row's traceparent, the workflow-actions and live fan-out consumer spans with their
 * context reads, and the integration notice headers.
 */
const HELPER_CALLS_PER_CREATE = 8;

/**
 * What tracing costs a create while it is off: the no-op span helper of this build (no SDK
 * registered in this process, as in an untraced gateway), timed here, times the calls a create makes,
 * against the gateway CPU a create took in the tracing-off row.
 */
async function tracingOffCost(root, offRow) {
  if (!offRow?.rps || !offRow.cpuPercent) return undefined;
  let helpers;
  try {
    helpers = await import(pathToFileURL(path.join(root, 'dist/src/tracing.js')).href);
  } catch {
    return undefined;
  }
  const calls = 200_000;
  const work = async () => undefined;
  for (let i = 0; i < 10_000; i++) await helpers.inSpan('bench', {}, work);
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) await helpers.inSpan('bench', {}, work);
  const used = process.cpuUsage(before);
  const nsPerCall = ((used.user + used.system) * 1000) / calls;
  const nsPerCreate = ((offRow.cpuPercent / 100) * 1e9) / offRow.rps;
  const share = (nsPerCall * HELPER_CALLS_PER_CREATE) / nsPerCreate;
  return {
    share,
    note: `Tracing off, what it still costs: a no-op span helper took ${nsPerCall.toFixed(0)} ns of CPU (timed in this run, ${calls.toLocaleString('en')} calls); a create makes about ${HELPER_CALLS_PER_CREATE}, against ${(nsPerCreate / 1e6).toFixed(2)} ms of gateway CPU per create in the tracing-off row: ${(share * 100).toFixed(2)} % of a create.`,
  };
}
