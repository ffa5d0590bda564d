// The result tables (printed and written to RESULTS.md) and the targets, met or missed.

const fmt = {
  int: (v) => (v === undefined || Number.isNaN(v) ? '–' : Math.round(v).toLocaleString('en-US')),
  ms: (v) => (v === undefined || Number.isNaN(v) ? '–' : v === Infinity ? 'late' : v < 10 ? v.toFixed(2) : v.toFixed(1)),
  pct: (v) => (v === undefined || Number.isNaN(v) ? '–' : `${Math.round(v)} %`),
  ratio: (v) => (v === undefined || Number.isNaN(v) ? '–' : `${(v * 100).toFixed(0)} %`),
  mib: (v) => (v === undefined ? '–' : `${(v / 2 ** 20).toFixed(0)} MiB`),
  text: (v) => (v === undefined ? '–' : String(v)),
};

/** The gateway's process CPU time over the requests it answered in the window (issue 18 asks for it per HTTP row). */
export function cpuMsPerRequest(row) {
  return row.cpuPercent === undefined || !row.rps ? undefined : (row.cpuPercent / 100) * (1000 / row.rps);
}

/** Columns of the load tables: one row per scenario and concurrency. */
export const LOAD_COLUMNS = [
  ['scenario', 'label', 'text'],
  ['conc.', 'concurrency', 'int'],
  ['req/s', 'rps', 'int'],
  ['p50 ms', 'p50', 'ms'],
  ['p99 ms', 'p99', 'ms'],
  ['errors', 'errors', 'int'],
  ['gateway CPU', 'cpuPercent', 'pct'],
  ['CPU ms/req', cpuMsPerRequest, 'ms'],
  ['driver CPU', 'driverCpuPercent', 'pct'],
  ['machine busy', 'machineBusyPercent', 'pct'],
  ['baseline', 'baselineLabel', 'text'],
  ['ratio', 'ratio', 'ratio'],
];

export function table(columns, rows) {
  const header = `| ${columns.map(([h]) => h).join(' | ')} |`;
  const rule = `| ${columns.map(([, , f]) => (f === 'text' ? '---' : '---:')).join(' | ')} |`;
  const body = rows.map((row) => `| ${columns.map(([, key, f]) => fmt[f](typeof key === 'function' ? key(row) : row[key])).join(' | ')} |`);
  return [header, rule, ...body].join('\n');
}

export function renderReport({ title, status, conditions, sections, targets, appendix }) {
  const out = [`# ${title}`, '', status, '', ...conditions.map((c) => `- ${c}`), ''];
  for (const section of sections) {
    out.push(`## ${section.title}`, '');
    if (section.rows.length > 0) out.push(table(section.columns ?? LOAD_COLUMNS, section.rows), '');
    for (const note of section.notes ?? []) out.push(`- ${note}`);
    if (section.notes?.length) out.push('');
  }
  if (targets.length > 0) {
    out.push('## Targets (issues 8 and 18)', '', '| target | measured | verdict |', '| --- | --- | --- |');
    for (const t of targets) out.push(`| ${t.target} | ${t.measured} | ${t.met === undefined ? 'not measured' : t.met ? 'met' : '**missed**'} |`);
    out.push('');
  }
  if (appendix) out.push(appendix);
  return out.join('\n');
}

export { fmt };
