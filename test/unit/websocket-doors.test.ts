import { describe, expect, it } from 'vitest';
import { DomainError, ERROR_CODES } from '../../src/domain/index.js';
import { tenantNamed } from '../../src/transport/http/request-context.js';
import { CloseCode, closeFor } from '../../src/transport/http/websocket-close-code.js';

describe('tenantNamed: the one X-Tenant-Id rule', () => {
  it.each([
    [[undefined], undefined],
    [[undefined, null], undefined],
    [['tenant-a'], 'tenant-a'],
    [['tenant-a, tenant-a'], 'tenant-a'],
    [[['tenant-a', 'tenant-a']], 'tenant-a'],
    [['tenant-a', ' tenant-a '], 'tenant-a'],
    [['tenant-a, tenant-b'], 'tenant-a, tenant-b'],
    [['tenant-a', 'tenant-b'], 'tenant-a, tenant-b'],
    [[''], ''],
    [['tenant-a,'], 'tenant-a, '],
    [[7], '7'],
    [[{ id: 'tenant-a' }], '{"id":"tenant-a"}'],
  ])('%j names %j', (places, named) => {
    expect(tenantNamed(...places)).toBe(named);
  });
});

describe('closeFor: the one mapping of an error to a websocket close', () => {
  it('closes 4401 for a bad token, 4403 at the tenant wall, and the contract code as the reason', () => {
    expect(closeFor(new DomainError('UNAUTHENTICATED', 'no'))).toEqual({ code: CloseCode.Unauthorized, reason: 'UNAUTHENTICATED' });
    expect(closeFor(new DomainError('TENANT_ISOLATION_VIOLATION', 'no'))).toEqual({ code: 4403, reason: 'TENANT_ISOLATION_VIOLATION' });
    expect(closeFor(new DomainError('MODULE_NOT_LICENSED', 'no'))).toEqual({ code: 4403, reason: 'MODULE_NOT_LICENSED' });
  });

  it('closes 1011 INTERNAL for anything unknown, never with its message', () => {
    expect(closeFor(new Error('password=hunter2'))).toEqual({ code: CloseCode.InternalError, reason: 'INTERNAL' });
    expect(closeFor('a string')).toEqual({ code: 1011, reason: 'INTERNAL' });
  });

  it('has a close code for every error code', () => {
    for (const code of ERROR_CODES) expect(Object.values(CloseCode), code).toContain(closeFor(new DomainError(code, 'x')).code);
  });
});
