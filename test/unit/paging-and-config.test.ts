import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/application/cursor.js';
import { parseDateParam } from '../../src/application/date-bounds.js';
import { parseIfMatch } from '../../src/application/etag.js';
import { loadConfig } from '../../src/config.js';
import { DomainError } from '../../src/domain/index.js';

describe('cursor', () => {
  it('round-trips a position and refuses forged or mismatched cursors', () => {
    const position = { sort: 'authoredOn' as const, descending: true, value: '2021-03-04T00:00:00+00:00', seq: '42' };
    expect(decodeCursor(encodeCursor(position), { sort: 'authoredOn', descending: true })).toEqual(position);
    expect(() => decodeCursor(encodeCursor(position), { sort: 'seq', descending: false })).toThrow(DomainError);
    for (const forged of ['', 'x', Buffer.from('[1,2,3]').toString('base64url'), Buffer.from('["seq",0,null,"1; DROP TABLE x"]').toString('base64url')]) {
      expect(() => decodeCursor(forged, { sort: 'seq', descending: false })).toThrow(/cursor is not valid/);
    }
  });
});

describe('date parameters', () => {
  it('turn each precision into a range and keep the prefix', () => {
    expect(parseDateParam('d', '2021')).toEqual({ op: 'eq', low: new Date('2021-01-01T00:00:00Z'), high: new Date('2022-01-01T00:00:00Z') });
    expect(parseDateParam('d', 'ge2021-12')).toEqual({ op: 'ge', low: new Date('2021-12-01T00:00:00Z'), high: new Date('2022-01-01T00:00:00Z') });
    expect(parseDateParam('d', 'lt2021-02-28')).toMatchObject({ op: 'lt', high: new Date('2021-03-01T00:00:00Z') });
    expect(parseDateParam('d', '2021-02-28T10:00:00Z').high).toEqual(new Date('2021-02-28T10:00:01Z'));
    expect(() => parseDateParam('d', 'sa2021')).toThrow(DomainError);
  });
});

describe('If-Match', () => {
  it('reads weak and strong ETags and bare numbers', () => {
    expect(parseIfMatch('W/"3"')).toBe(3);
    expect(parseIfMatch('"12"')).toBe(12);
    expect(parseIfMatch('7')).toBe(7);
    expect(() => parseIfMatch('W/"abc"')).toThrow(DomainError);
  });
});

describe('config', () => {
  it('refuses to start in production without a secret or JWKS, naming the problem', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AUTH_JWT_SECRET or AUTH_JWKS_URL/);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'dev-only-secret-change-me' })).toThrow(/development secret/);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 's3cret-for-prod' }).auth.secret).toBe('s3cret-for-prod');
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://idp.example/jwks' }).auth.jwksUrl).toBe('https://idp.example/jwks');
  });

  it('uses the development secret and embedded services by default, and reports every bad value', () => {
    const config = loadConfig({});
    expect(config.auth.secret).toBe('dev-only-secret-change-me');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.natsUrl).toBeUndefined();
    expect(config.port).toBe(4000);
    expect(config.exposeErrorDetails).toBe(false);
    const problems = (() => {
      try {
        loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', MIGRATIONS_RUN: 'maybe' });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const name of ['PORT', 'DATABASE_URL', 'MIGRATIONS_RUN']) expect(problems).toContain(name);
  });

  it('bounds the websocket keepalive and the live consumer attempts, naming each bad value', () => {
    const bad = () => loadConfig({ WS_KEEPALIVE_MS: '50', NATS_CONSUMER_MAX_ATTEMPTS: '0' });
    expect(bad).toThrow(/WS_KEEPALIVE_MS must be an integer between 100 and/);
    expect(bad).toThrow(/NATS_CONSUMER_MAX_ATTEMPTS must be an integer between 1 and 1000 \(got '0'\)/);
    const config = loadConfig({ WS_KEEPALIVE_MS: '200', NATS_CONSUMER_MAX_ATTEMPTS: '3' });
    expect([config.websocketKeepAliveMs, config.natsConsumerMaxAttempts]).toEqual([200, 3]);
    expect([loadConfig({}).websocketKeepAliveMs, loadConfig({}).natsConsumerMaxAttempts]).toEqual([30_000, 12]);
  });
});
