import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

const SECRET = 'eyJhbGciOiJIUzI1NiJ9.secret-payload.signature';
const NAME = 'Ottoline Vandersteen';

/** Logs one entry through the gateway's logger and answers the line as written. */
function logged(object: Record<string, unknown>): string {
  const lines: string[] = [];
  createLogger({ level: 'debug' }, { write: (line: string) => void lines.push(line) }).info(object, 'entry');
  return lines.join('');
}

describe('the gateway logger', () => {
  it.each([
    ['request headers', { req: { headers: { authorization: `Bearer ${SECRET}` } } }],
    ['an HTTP client’s headers', { call: { headers: { Authorization: `Bearer ${SECRET}` } } }],
    ['graphql-ws connection params', { connectionParams: { authorization: `Bearer ${SECRET}` } }],
    ['a token field', { session: { token: SECRET } }],
  ])('redacts the token in %s', (_where, object) => {
    const line = logged(object);
    expect(line).not.toContain(SECRET);
    expect(line).toContain('[redacted]');
  });

  it.each([
    ['a resource', { resource: { resourceType: 'MedicationRequest', subject: { display: NAME } } }],
    ['an event envelope', { envelope: { payload: { resource: { subject: { display: NAME } } } } }],
    ['a request body', { req: { body: { subject: { display: NAME } } } }],
    ['a notice', { action: { notice: { prescription: { subject: { display: NAME } } } } }],
  ])('redacts the patient in %s', (_where, object) => {
    expect(logged(object)).not.toContain(NAME);
  });

  it('logs an error’s type, message, code and cause, never the data it carries', () => {
    const driverError = Object.assign(new Error('new row violates check constraint "c"'), {
      code: '23514',
      constraint: 'c',
      detail: `Failing row contains (${NAME})`,
    });
    const error = Object.assign(new Error('insert failed', { cause: driverError }), {
      parameters: [JSON.stringify({ subject: { display: NAME } })],
      detail: `Failing row contains (${NAME})`,
      config: { headers: { Authorization: `Bearer ${SECRET}` } },
    });
    const entry = JSON.parse(logged({ err: error }));
    expect(entry.err).toMatchObject({ type: 'Error', message: 'insert failed', cause: { type: 'Error', code: '23514', constraint: 'c' } });
    expect(entry.err.stack).toContain('insert failed');
    expect(JSON.stringify(entry)).not.toContain(NAME);
    expect(JSON.stringify(entry)).not.toContain(SECRET);
  });
});
