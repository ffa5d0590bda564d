import { describe, expect, it } from 'vitest';
import { DomainError, ERROR_CODES, isServerFault } from '../../src/domain/index.js';
import { errorHeaders, HTTP_STATUS } from '../../src/transport/http/error-status.js';

describe('error status on HTTP (transport/http/error-status)', () => {
  it("answers 5xx exactly for the codes the domain calls the gateway's own failure", () => {
    for (const code of ERROR_CODES) expect([code, HTTP_STATUS[code] >= 500]).toEqual([code, isServerFault(code)]);
  });

  it('shows the facts of an error as headers: budget, Retry-After, the current version as ETag', () => {
    const limited = new DomainError('RATE_LIMIT_EXCEEDED', 'x', { retryAfterSeconds: 3, rateLimit: { limit: 20, remaining: 0, resetSeconds: 4 } });
    expect(Object.entries(errorHeaders(limited))).toEqual([
      ['RateLimit-Limit', '20'],
      ['RateLimit-Remaining', '0'],
      ['RateLimit-Reset', '4'],
      ['Retry-After', '3'],
    ]);
    expect(errorHeaders(new DomainError('PRECONDITION_FAILED', 'x', { currentVersionId: 3 }))).toEqual({ ETag: 'W/"3"' });
    expect(errorHeaders(new DomainError('NOT_FOUND', 'x'))).toEqual({});
  });
});
