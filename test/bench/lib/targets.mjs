// The issue's targets, each judged from this run's rows (ratios to baselines of the same run).
const pct = (v) => (v === undefined || Number.isNaN(v) ? '–' : `${Math.round(v * 100)} %`);
const ms = (v) => (v === undefined ? '–' : `${v.toFixed(1)} ms`);

export function evaluateTargets({ byKey, pgbench, floor = new Map(), sections, PROFILE }) {
  const conc = PROFILE.concurrency;
  const ratio = (key, c) => (pgbench.get(`${key}:${c}`)?.rps ? byKey.get(`${key}:${c}`)?.rps / pgbench.get(`${key}:${c}`).rps : undefined);
  const perConc = (key, min) => {
    const values = conc.map((c) => [c, ratio(key, c)]);
    // The floor (a bare node:http + pg server, same SQL) bounds what any Node gateway reaches here.
    const floorOf = (c) => (floor.get(`${key}:${c}`)?.ratio === undefined ? '' : ` (floor ${pct(floor.get(`${key}:${c}`).ratio)})`);
    const measured = values.map(([c, r]) => `c=${c}: ${pct(r)}${floorOf(c)}`).join(', ');
    const met = values.some(([, r]) => r === undefined) ? undefined : values.every(([, r]) => r >= min);
    return { measured, met };
  };
  const targets = [];
  const c32 = conc.includes(32) ? 32 : conc.at(-1);
  const create = byKey.get(`create:${c32}`);
  const createRatio = ratio('create', c32);
  targets.push({
    target: `FHIR create ≥ 50 % of pgbench create TPS at c=${c32}, p99 ≤ 40 ms`,
    measured: `${pct(createRatio)} of pgbench (${Math.round(create?.rps ?? 0)} vs ${Math.round(pgbench.get(`create:${c32}`)?.rps ?? 0)} /s), p99 ${ms(create?.p99)} (pgbench's own p99: ${ms(pgbench.get(`create:${c32}`)?.p99)})`,
    met: createRatio === undefined ? undefined : createRatio >= 0.5 && create.p99 <= 40,
  });
  const minimal = pgbench.get(`createMinimal:${c32}`);
  const minimalRatio = minimal?.rps && create ? create.rps / minimal.rps : undefined;
  targets.push({
    target: `FHIR create ≥ 50 % of the minimal create transaction (pgbench createMinimal) at c=${c32}, zero errors (issue 18)`,
    measured: `${pct(minimalRatio)} (${Math.round(create?.rps ?? 0)} vs ${Math.round(minimal?.rps ?? 0)} /s)`,
    met: minimalRatio === undefined ? undefined : minimalRatio >= 0.5 && create.errors === 0,
  });
  targets.push({ target: 'FHIR read by id ≥ 50 % of pgbench read TPS at c=8 and c=32 (issue 18; issue 8: 25 %)', ...perConc('read', 0.5) });
  targets.push({ target: 'FHIR search (_count=20) ≥ 60 % of pgbench search TPS at c=8 and c=32 (issue 18; issue 8: 50 %)', ...perConc('search', 0.6) });
  const gql = conc.map((c) => [c, byKey.get(`gqlCreate:${c}`)?.rps / byKey.get(`create:${c}`)?.rps]);
  targets.push({
    target: 'GraphQL create within 10 % of FHIR create',
    measured: gql.map(([c, r]) => `c=${c}: ${pct(r)}`).join(', '),
    met: gql.every(([, r]) => r >= 0.9),
  });

  const pageSection = sections.find((s) => s.title.startsWith('GraphQL medicationRequests'));
  const statementsNote = pageSection?.notes.find((n) => n.startsWith('SQL statements per page'));
  const [, first10, first50] = /page of 10 issued (\d+), one of 50 issued (\d+)/.exec(statementsNote ?? '') ?? [];
  const bestPage = Math.max(...conc.map((c) => byKey.get(`gqlPage:${c}`)?.rps ?? 0));
  const pageRatios = conc.map((c) => [c, byKey.get(`gqlPage:${c}`)?.rps / byKey.get(`search50:${c}`)?.rps]);
  targets.push({
    target: 'GraphQL page of 50 (pharmacy, dispenses, transitions) ≥ 50 % of the FHIR search rate for _count=50 (issue 18)',
    measured: pageRatios.map(([c, r]) => `c=${c}: ${pct(r)}`).join(', '),
    met: pageRatios.some(([, r]) => r === undefined || Number.isNaN(r)) ? undefined : pageRatios.every(([, r]) => r >= 0.5),
  });
  targets.push({
    target: '50-item page with nested fields: constant SQL statements, ≥ 200 pages/s (issue 8)',
    measured: `${first10} statements for 10 items, ${first50} for 50; best ${Math.round(bestPage)} pages/s`,
    met: first10 !== undefined && first10 === first50 && bestPage >= 200,
  });

  const live = sections.find((s) => s.title.startsWith('Live delivery'));
  const fixed = live?.rows.find((r) => r.label.startsWith('rxgate, at'));
  const burst = live?.rows.find((r) => r.label === 'rxgate, burst');
  const subs = fixed?.subscribers;
  targets.push({
    target: 'Live delivery p99 ≤ 100 ms commit → receipt with 1,000 subscribers at 20 events/s (issue 18; issue 8: 25 ms)',
    measured: `p99 ${ms(fixed?.p99)} with ${subs} subscribers`,
    met: fixed && subs >= 1000 ? fixed.p99 <= 100 : undefined,
  });
  targets.push({
    target: 'Live broadcast ≥ 80 % of the bare graphql-ws rate (issue 18)',
    measured: `${pct(burst?.ratio)} (${Math.round(burst?.rps ?? 0)} deliveries/s)`,
    met: burst?.ratio === undefined || subs < 1000 ? undefined : burst.ratio >= 0.8,
  });
  const filtered = sections.find((s) => s.title.startsWith('Live delivery, filtered'))?.rows[0];
  targets.push({
    target: 'Live delivery p99 ≤ 100 ms with 10,000 subscribers each filtered on its own patient, 200 events/s (issue 18)',
    measured: filtered ? `p99 ${ms(filtered.p99)} with ${filtered.subscribers} subscribers, ${filtered.events} events` : '–',
    met: filtered && filtered.subscribers >= 10_000 ? filtered.p99 <= 100 && filtered.errors === 0 : undefined,
  });
  const idle = sections.find((s) => s.title.startsWith('Idle'))?.rows[0];
  targets.push({
    target: '10,000 idle subscribers in ≤ 1 GiB RSS',
    measured: `${((idle?.rss ?? 0) / 2 ** 20).toFixed(0)} MiB with ${idle?.subscribers}`,
    met: idle && idle.subscribers >= 10_000 ? idle.rss <= 2 ** 30 : undefined,
  });
  const soak = sections.find((s) => s.title.startsWith('Soak'))?.rows[0];
  targets.push({
    target: 'No memory growth in a soak at half the max create rate (end RSS within 10 % of after warm-up)',
    measured: `${pct(soak?.growth)} over ${PROFILE.soakSeconds} s (issue: 10 min)`,
    met: soak?.growth === undefined ? undefined : soak.growth <= 0.1,
  });
  const tracing = sections.find((s) => s.title.startsWith('Tracing cost'));
  const tracingOn = tracing?.rows.find((r) => r.label === 'FHIR create, tracing on');
  if (tracingOn)
    targets.push({
      target: 'Tracing on, at the default sampling, ≥ 80 % of tracing-off create throughput (issue 18)',
      measured: `${pct(tracingOn.ratio)} (${Math.round(tracingOn.rps)} vs ${Math.round(tracing.rows.find((r) => r.label === 'FHIR create, tracing off')?.rps ?? 0)} /s)`,
      met: tracingOn.ratio === undefined ? undefined : tracingOn.ratio >= 0.8,
    });
  if (tracing?.tracingOffShare !== undefined) {
    targets.push({
      target: 'Tracing off costs under 2 % of create throughput',
      measured: `${(tracing.tracingOffShare * 100).toFixed(2)} % of a create's gateway CPU (see the tracing section)`,
      met: tracing.tracingOffShare < 0.02,
    });
  }
  return targets;
}
