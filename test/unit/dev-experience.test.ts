import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger, prettyLine } from '../../src/logger.js';

describe('safe and readable defaults', () => {
  it('listens on 127.0.0.1 outside production unless HOST says otherwise, on every interface in production', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'test' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'prod-secret' }).host).toBe('0.0.0.0');
  });

  it('logs readable lines in development and JSON elsewhere, unless LOG_FORMAT says otherwise', () => {
    expect(loadConfig({}).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'test' }).logFormat).toBe('json');
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'prod-secret' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
  });

  it('refuses a data file that does not exist', () => {
    expect(() => loadConfig({ PHARMACIES_FILE: '/nonexistent/pharmacies.json' })).toThrow(/PHARMACIES_FILE: no file at \/nonexistent\/pharmacies.json/);
  });
});

describe('pretty log lines', () => {
  it('are one line with time, level, message, fields and the correlation id, redacted like JSON', () => {
    const out: string[] = [];
    const logger = createLogger({ level: 'info', format: 'pretty' }, { write: (line: string) => void out.push(line) });
    logger
      .child({ reqId: 'corr-1' })
      .warn({ method: 'GET', route: '/fhir/MedicationRequest/:id', status: 401, ms: 1.5, authorization: 'Bearer secret-token' }, 'request');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /^\d{2}:\d{2}:\d{2}\.\d{3} WARN {2}request {2}method=GET route=\/fhir\/MedicationRequest\/:id status=401 ms=1\.5 authorization=\[redacted\] \[corr-1\]\n$/,
    );
  });

  it('print an error with its stack indented below the line', () => {
    const line = prettyLine(
      JSON.stringify({ level: 50, time: 0, msg: 'unexpected error', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at here' } }),
    );
    expect(line).toBe('00:00:00.000 ERROR unexpected error\n    Error: boom\n        at here\n');
  });
});
