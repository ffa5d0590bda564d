import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
// yaml is in the dev tree already (Vite, GraphQL Code Generator); no dependency of its own.
import { parse as parseYaml } from 'yaml';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

/** The operator's view (deploy/observability) must only speak of metrics the gateway exports. */
const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const read = (path: string) => readFileSync(root(path), 'utf8');

const DASHBOARD = 'deploy/observability/grafana/rxgate-dashboard.json';
const ALERTS = 'deploy/observability/prometheus/alerts.yml';
const METRIC_NAME = /\brxgate_[a-zA-Z0-9_]+/g;

/** Families announced by a scrape (`# TYPE`), with the series names each stands for. */
function exportedSeries(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** Every PromQL expression of a dashboard: panel targets (rows included) and template queries. */
function dashboardExpressions(dashboard: any): string[] {
  const panels = (dashboard.panels as any[]).flatMap((p) => [p, ...(p.panels ?? [])]);
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t: any) => t.expr as string));
  const templates = (dashboard.templating?.list ?? [])
    .filter((v: any) => v.type === 'query')
    .map((v: any) => (typeof v.query === 'string' ? v.query : v.query.query) as string);
  return [...targets, ...templates];
}

let exported: Set<string>;
const t = useTestApp();
beforeAll(async () => {
  exported = exportedSeries((await request(`${t.url}/metrics`)).body as string);
});

describe('the operator’s view against a real /metrics scrape', () => {
  it('the Grafana dashboard parses and queries only metrics the gateway exports', () => {
    const dashboard = JSON.parse(read(DASHBOARD));
    const expressions = dashboardExpressions(dashboard);
    expect(expressions.length).toBeGreaterThan(20);
    const used = new Set(expressions.flatMap((e) => e.match(METRIC_NAME) ?? []));
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    // Every panel queries something, with ids Grafana can tell apart.
    const panels = (dashboard.panels as any[]).filter((p) => p.type !== 'row');
    expect(panels.filter((p) => !(p.targets?.length > 0)).map((p) => p.title)).toEqual([]);
    expect(new Set(dashboard.panels.map((p: any) => p.id)).size).toBe(dashboard.panels.length);
  });

  it('the dashboard shows each metric of issue #9 (requests, errors, latency, outbox, relay, lag, dead letters, retries, websockets, delivery, pool, rate limits)', () => {
    const used = new Set(dashboardExpressions(JSON.parse(read(DASHBOARD))).flatMap((e) => e.match(METRIC_NAME) ?? []));
    const expected = [
      'rxgate_http_requests_total',
      'rxgate_http_request_duration_seconds_bucket',
      'rxgate_graphql_errors_total',
      'rxgate_outbox_backlog_events',
      'rxgate_outbox_oldest_unpublished_seconds',
      'rxgate_outbox_published_total',
      'rxgate_stream_consumer_lag_messages',
      'rxgate_dead_letters_open',
      'rxgate_action_retries_total',
      'rxgate_action_dead_letters_total',
      'rxgate_websocket_connections',
      'rxgate_live_subscribers',
      'rxgate_live_events_delivered_total',
      'rxgate_live_subscribers_dropped_total',
      'rxgate_db_pool_connections',
      'rxgate_rate_limit_rejections_total',
    ];
    expect(expected.filter((name) => !used.has(name))).toEqual([]);
  });

  it('the alert rules parse and use only metrics the gateway exports', () => {
    const rules = (parseYaml(read(ALERTS)) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining(['RxgateOutboxStalled', 'RxgateDeadLettersGrowing', 'RxgateConsumerLagGrowing', 'RxgateHighErrorRate']),
    );
    const used = new Set(rules.flatMap((r) => r.expr.match(METRIC_NAME) ?? []));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('the README documents every metric the gateway exports', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('\n## ', readme.indexOf('## Metrics') + 1));
    const families = [...exported].filter((name) => !/_(bucket|sum|count)$/.test(name) || !exported.has(name.replace(/_(bucket|sum|count)$/, '')));
    // Process and runtime metrics are documented as a group (`rxgate_process_*`, `rxgate_nodejs_*`).
    const own = families.filter((name) => !/^rxgate_(process|nodejs)_/.test(name));
    expect(own.filter((name) => !section.includes(name))).toEqual([]);
  });

  it('the compose files and provisioning are valid YAML, and the observability profile wires the gateway to Jaeger', () => {
    const compose = parseYaml(read('docker-compose.yml')) as {
      services: Record<string, { profiles?: string[]; environment?: Record<string, string>; ports?: string[] }>;
    };
    for (const service of ['prometheus', 'grafana', 'jaeger']) expect(compose.services[service]?.profiles, service).toEqual(['observability']);
    expect(compose.services.gateway.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toContain('http://jaeger:4318');
    expect(compose.services.jaeger.ports).toContain('4318:4318');
    for (const path of [
      'deploy/observability/prometheus/prometheus.yml',
      'deploy/observability/grafana/provisioning/datasources/datasources.yml',
      'deploy/observability/grafana/provisioning/dashboards/dashboards.yml',
      'deploy/observability/jaeger/config.yaml',
    ]) {
      expect(parseYaml(read(path)), path).toBeTypeOf('object');
    }
  });

  // promtool ships with Prometheus (Debian: `apt-get install prometheus`); where it is not installed this is skipped.
  const promtool = (() => {
    try {
      execFileSync('promtool', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(promtool)('promtool accepts the configuration and the rules, and the rules’ unit tests pass', () => {
    const cwd = root('deploy/observability/prometheus');
    for (const args of [
      ['check', 'config', 'prometheus.yml'],
      ['check', 'rules', 'alerts.yml'],
      ['test', 'rules', 'alerts.test.yml'],
    ]) {
      expect(() => execFileSync('promtool', args, { cwd, stdio: 'pipe' }), args.join(' ')).not.toThrow();
    }
  });
});
