// HTTP scenarios driven with autocannon over loopback. Latencies are taken from autocannon's
// per-response event (fractions of a millisecond; its own histogram keeps whole milliseconds), and a
// response counts as an error unless `check` accepts it (GraphQL answers 200 with `errors`).
import autocannon from 'autocannon';
import { startWindow } from './machine.mjs';
import { summarize } from './stats.mjs';

/**
 * Runs `request` on `connections` connections for `seconds` (after `warmupSeconds` of the same,
 * not measured). `request.setup(context)` answers `{ path?, body?, headers? }` for each request;
 * `overallRate` fixes the request rate instead of going as fast as possible; `amount` sends that many
 * requests instead of running for `seconds`.
 */
export async function runHttp({ url, pid, connections, seconds, amount, warmupSeconds = 0, overallRate, request, onTick }) {
  const once = async (duration, measure) => {
    let bad = 0;
    let firstBad;
    const latencies = [];
    const requests = [
      {
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body,
        setupRequest: request.setup
          ? (req, context) => {
              const extra = request.setup(context);
              return { ...req, ...extra, headers: { ...req.headers, ...extra.headers } };
            }
          : undefined,
        onResponse: (status, body, context) => {
          if (request.check(status, body, context)) return;
          bad++;
          firstBad ??= `${status} ${String(body).slice(0, 300)}`;
        },
      },
    ];
    const window = startWindow(pid);
    const driverCpu = process.cpuUsage();
    const instance = autocannon({
      url,
      connections: amount ? Math.min(connections, amount) : connections,
      ...(amount ? { amount } : { duration }),
      requests,
      overallRate,
      timeout: 30,
    });
    instance.on('response', (_client, _status, _bytes, responseTime) => measure && latencies.push(responseTime));
    const ticker = onTick && setInterval(() => onTick(latencies.length), 2000);
    const result = await instance;
    if (ticker) clearInterval(ticker);
    const usage = window();
    const { user, system } = process.cpuUsage(driverCpu);
    const transportErrors = result.errors + result.timeouts;
    return {
      rps: latencies.length / usage.seconds,
      ok: latencies.length - bad,
      ...summarize(latencies),
      errors: bad + transportErrors,
      detail: firstBad ?? (transportErrors ? `${result.errors} connection errors, ${result.timeouts} timeouts` : undefined),
      cpuPercent: usage.cpuPercent,
      machineBusyPercent: usage.machineBusyPercent,
      // autocannon runs in this process: on a 2-core machine it takes a share of what the server could use.
      driverCpuPercent: ((user + system) / 1e6 / usage.seconds) * 100,
    };
  };
  const warm = warmupSeconds > 0 ? await once(warmupSeconds, false) : { errors: 0 };
  const result = await once(seconds, true);
  // Errors during the warm-up are errors of the run all the same.
  result.errors += warm.errors;
  result.detail ??= warm.detail;
  return result;
}

/**
 * Sends `amount` requests at `rate` per second, evenly spaced by the clock (open loop: a slow answer
 * does not hold back the next request). autocannon's `overallRate` sends each connection's quota for a
 * second back to back at the start of that second, so "20 events/s" there is a burst of 20 once a
 * second: live latency at a fixed rate is measured with this instead.
 */
export async function runPaced({ url, rate, amount, request }) {
  let ok = 0;
  let bad = 0;
  let firstBad;
  const started = performance.now();
  const inFlight = [];
  for (let i = 0; i < amount; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const extra = request.setup?.({}) ?? {};
    inFlight.push(
      fetch(`${url}${extra.path ?? request.path}`, {
        method: request.method,
        headers: { ...request.headers, ...extra.headers },
        body: extra.body ?? request.body,
      })
        .then(async (response) => {
          const body = await response.text();
          if (request.check(response.status, body, {})) ok++;
          else {
            bad++;
            firstBad ??= `${response.status} ${body.slice(0, 300)}`;
          }
        })
        .catch((error) => {
          bad++;
          firstBad ??= error.message;
        }),
    );
  }
  await Promise.all(inFlight);
  return { ok, errors: bad, detail: firstBad };
}
