// Small numeric helpers shared by the scenarios.

/** p50 / p99 / max of latencies in milliseconds (nearest rank). */
export function summarize(latencies) {
  if (latencies.length === 0) return { p50: undefined, p99: undefined, max: undefined, count: 0 };
  const sorted = Float64Array.from(latencies).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1], count: sorted.length };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is truthy or `ms` pass; answers the last value. */
export async function waitFor(check, ms, every = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value || Date.now() > deadline) return value;
    await sleep(every);
  }
}
