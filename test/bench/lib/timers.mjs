// Workflow timers (issue 15): how fast a gateway's timer runner fires due timers, and how late, with
// 10,000 pending. The timers are rows of workflow_timers on pre-loaded prescriptions (state
// `requested`), inserted by the harness as a transition would arm them; the gateway fires them
// (`expire`: a real transition with its history row and events) and the figures come from its
// metrics (rxgate_workflow_timers_total, rxgate_workflow_timer_lateness_seconds) and the rows it settled.
import pg from 'pg';
import { startGateway } from './gateway.mjs';
import { startWindow } from './machine.mjs';
import { summarize, waitFor } from './stats.mjs';

const TENANT = 'tenant-a';

/** A counter or gauge sample from /metrics (summed over the series that match `labels`). */
async function metric(gateway, name, labels = '') {
  const text = await fetch(`${gateway.url}/metrics`).then((r) => r.text());
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** The lateness histogram's p99 as its bucket bound ("≤ x s"): what a Prometheus dashboard would show. */
async function histogramP99(gateway) {
  const text = await fetch(`${gateway.url}/metrics`).then((r) => r.text());
  const buckets = [...text.matchAll(/^rxgate_workflow_timer_lateness_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)].map((m) => ({ le: m[1], n: Number(m[2]) }));
  const total = buckets.find((b) => b.le === '+Inf')?.n ?? 0;
  const le = total === 0 ? undefined : buckets.find((b) => b.n >= 0.99 * total)?.le;
  return le === undefined ? undefined : le === '+Inf' ? '> 60 s' : `≤ ${le} s`;
}

/**
 * Inserts timers as the engine arms them (the harness's only shortcut: no transition armed them), one
 * per prescription, `dueAt(i)` for the i-th.
 */
async function insertTimers(client, ids, dueAt) {
  await client.query(
    `INSERT INTO workflow_timers (id, tenant_id, workflow, instance_id, name, due_at)
     SELECT gen_random_uuid(), $1, 'prescription', t.id, 'expiry', t.due FROM unnest($2::uuid[], $3::timestamptz[]) AS t(id, due)`,
    [TENANT, ids, ids.map((_, i) => dueAt(i))],
  );
}

/** Lateness (settled − due) of the fired timers of these prescriptions, in ms, from the rows the gateway settled. */
async function lateness(client, ids) {
  const { rows } = await client.query(
    `SELECT outcome, count(*)::int AS n, array_agg(EXTRACT(EPOCH FROM settled_at - due_at) * 1000) FILTER (WHERE outcome = 'fired') AS late
     FROM workflow_timers WHERE instance_id = ANY($1::uuid[]) AND settled_at IS NOT NULL GROUP BY outcome`,
    [ids],
  );
  const fired = rows.find((r) => r.outcome === 'fired');
  return { fired: fired?.n ?? 0, dropped: rows.find((r) => r.outcome === 'dropped')?.n ?? 0, ...summarize((fired?.late ?? []).map(Number)) };
}

/**
 * Two rows on a fresh gateway (its metrics are the scenario's own):
 * - burst: `burst` timers all due at the same instant — timers fired per second (first to last
 *   firing, from the fired counter) and lateness, which here is mostly the queue (the last in line
 *   waits for all before it);
 * - paced: `pending` timers armed far ahead (they wait, as real expiries do), then `paced` timers
 *   due at `pacedRate` per second — lateness with that many pending, the runner's own delay.
 * Checked, never timed: every timer fired exactly once, none dropped, each prescription `expired`.
 */
export async function runTimers({ root, gatewayEnv, benchUrl, sizes, log, noteErrors, children }) {
  const { burst, pending, paced, pacedRate, timeoutMs } = sizes;
  const client = new pg.Client({ connectionString: benchUrl });
  // A connection cut off (the database dropped under the run) fails the next query, not the process.
  client.on('error', (error) => log(`timers: database connection lost: ${error.message}`));
  await client.connect();
  const gateway = await startGateway({ root, env: gatewayEnv });
  children.push(gateway);
  const rows = [];
  try {
    const { rows: picked } = await client.query(
      `SELECT id FROM medication_requests WHERE tenant_id = $1 AND workflow_status = 'requested' AND workflow_version = 2 ORDER BY seq LIMIT $2`,
      [TENANT, burst + paced + pending],
    );
    if (picked.length < burst + paced + pending)
      throw new Error(`timers: ${picked.length} requested prescriptions, ${burst + paced + pending} needed (load more rows)`);
    const ids = picked.map((r) => r.id);
    const burstIds = ids.slice(0, burst);
    const pacedIds = ids.slice(burst, burst + paced);
    const waitingIds = ids.slice(burst + paced);

    // Burst: all due 2 s after the insert, so the runner sees them pending first.
    log(`timers: ${burst.toLocaleString('en-US')} expiries due at the same instant`);
    const firedBefore = await metric(gateway, 'rxgate_workflow_timers_total', 'outcome="fired"');
    const due = new Date(Date.now() + 2_000);
    await insertTimers(client, burstIds, () => due);
    const window = startWindow(gateway.pid);
    let first;
    let last;
    const done = await waitFor(
      async () => {
        const fired = (await metric(gateway, 'rxgate_workflow_timers_total', 'outcome="fired"')) - firedBefore;
        if (fired > 0) first ??= Date.now();
        if (fired >= burst) last = Date.now();
        return fired >= burst;
      },
      timeoutMs,
      100,
    );
    const usage = window();
    const burstLate = await lateness(client, burstIds);
    const missing = burst - burstLate.fired;
    // Fired per second from the first firing to the last (the counter is read every 100 ms).
    const seconds = first && last ? Math.max(0.1, (last - first) / 1000) : undefined;
    rows.push(
      noteErrors('timers burst', {
        label: `${burst.toLocaleString('en-US')} due at once`,
        timers: burst,
        fired: burstLate.fired,
        rps: seconds ? burstLate.fired / seconds : undefined,
        p50: burstLate.p50,
        p99: burstLate.p99,
        max: burstLate.max,
        histogramP99: await histogramP99(gateway),
        errors: missing + burstLate.dropped + (done ? 0 : 1),
        detail: !done
          ? `only ${burstLate.fired} of ${burst} fired within ${timeoutMs / 1000} s`
          : burstLate.dropped
            ? `${burstLate.dropped} dropped`
            : undefined,
        cpuPercent: usage.cpuPercent,
        machineBusyPercent: usage.machineBusyPercent,
      }),
    );
    log(`  ${rows[0].rps?.toFixed(0)} timers/s, lateness p99 ${(burstLate.p99 / 1000).toFixed(1)} s, ${rows[0].errors} errors`);

    // Paced, with `pending` armed far ahead.
    log(`timers: ${pending.toLocaleString('en-US')} pending a day ahead, ${paced} due at ${pacedRate}/s`);
    const pendingBefore = await metric(gateway, 'rxgate_workflow_timers_pending');
    const dayAhead = new Date(Date.now() + 86_400_000);
    await insertTimers(client, waitingIds, () => dayAhead);
    const start = Date.now() + 2_000;
    await insertTimers(client, pacedIds, (i) => new Date(start + (i * 1000) / pacedRate));
    const pacedBefore = firedBefore + burst;
    const pacedWindow = startWindow(gateway.pid);
    const pacedDone = await waitFor(
      async () => (await metric(gateway, 'rxgate_workflow_timers_total', 'outcome="fired"')) - pacedBefore >= paced,
      timeoutMs,
      200,
    );
    const pacedUsage = pacedWindow();
    const pendingAfter = (await metric(gateway, 'rxgate_workflow_timers_pending')) - pendingBefore;
    const pacedLate = await lateness(client, pacedIds);
    rows.push(
      noteErrors('timers paced', {
        label: `${paced} due at ${pacedRate}/s, ${pending.toLocaleString('en-US')} pending`,
        timers: paced,
        fired: pacedLate.fired,
        rps: paced / (paced / pacedRate),
        p50: pacedLate.p50,
        p99: pacedLate.p99,
        max: pacedLate.max,
        pending: pendingAfter,
        errors: paced - pacedLate.fired + pacedLate.dropped + (pacedDone ? 0 : 1) + (pendingAfter === pending ? 0 : 1),
        detail: !pacedDone
          ? `only ${pacedLate.fired} of ${paced} fired`
          : pendingAfter !== pending
            ? `${pendingAfter} pending afterwards, ${pending} expected`
            : undefined,
        cpuPercent: pacedUsage.cpuPercent,
        machineBusyPercent: pacedUsage.machineBusyPercent,
      }),
    );
    log(`  lateness p99 ${pacedLate.p99?.toFixed(0)} ms with ${pendingAfter} pending, ${rows[1].errors} errors`);

    // Each fired expiry moved its prescription, once: one `expire` in its history, and the counter no further.
    const fired = [...burstIds, ...pacedIds];
    const { rows: moves } = await client.query(
      `SELECT (SELECT count(*)::int FROM medication_requests WHERE id = ANY($1::uuid[]) AND workflow_status = 'expired') AS expired,
              (SELECT count(*)::int FROM medication_request_history WHERE id = ANY($1::uuid[]) AND transition->>'event' = 'expire') AS moves`,
      [fired],
    );
    const counted = (await metric(gateway, 'rxgate_workflow_timers_total', 'outcome="fired"')) - firedBefore;
    const wrong = Math.abs(fired.length - moves[0].expired) + Math.abs(fired.length - moves[0].moves) + Math.abs(fired.length - counted);
    noteErrors('timers', {
      errors: wrong,
      detail: `${fired.length} timers: ${moves[0].expired} prescriptions expired, ${moves[0].moves} expire moves, ${counted} fired by the counter`,
    });
  } finally {
    await gateway.stop();
    children.splice(children.indexOf(gateway), 1);
    await client.end();
  }
  noteErrors('timers gateway log', { errors: gateway.errors.length, detail: gateway.errors[0] });
  return {
    title: 'Workflow timers: fired per second and lateness',
    columns: [
      ['scenario', 'label', 'text'],
      ['timers', 'timers', 'int'],
      ['fired', 'fired', 'int'],
      ['fired/s', 'rps', 'int'],
      ['late p50 ms', 'p50', 'int'],
      ['late p99 ms', 'p99', 'int'],
      ['late max ms', 'max', 'int'],
      ['p99 bucket (metric)', 'histogramP99', 'text'],
      ['errors', 'errors', 'int'],
      ['gateway CPU', 'cpuPercent', 'pct'],
      ['machine busy', 'machineBusyPercent', 'pct'],
    ],
    rows,
    notes: [
      `One fresh gateway (one timer runner: batches of 100, 4 transactions at a time, TIMER_POLL_MS default). Each timer is an \`expiry\` of a pre-loaded prescription in \`requested\`; firing it is the \`expire\` transition (history row, status_changed and expired events through the outbox). Timers are inserted by the harness, as a transition would arm them.`,
      `Burst: fired/s from the first to the last firing (rxgate_workflow_timers_total{outcome="fired"}, read every 100 ms); lateness is settled_at − due_at of each timer's row, so in a burst it is mostly the queue: the last timer waits for all before it (p99 ≈ burst / rate). "p99 bucket" is the bucket of rxgate_workflow_timer_lateness_seconds holding the 99th percentile, as a dashboard shows it.`,
      `Paced: ${pending.toLocaleString('en-US')} timers pending a day ahead stay pending (rxgate_workflow_timers_pending rose by ${rows[1]?.pending ?? '?'}), while ${paced} fall due at ${pacedRate}/s; their lateness is the runner's own delay with that many pending. fired/s here is the offered rate.`,
      'Errors: a timer not fired, fired twice or dropped, a prescription not expired, or an error in the gateway log. Speed is reported, never asserted.',
    ],
  };
}
