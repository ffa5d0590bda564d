import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createJwtVerifier } from '../../src/adapters/auth/jwt-verifier.js';

const SECRET = 'unit-test-secret-of-sufficient-length';
const sign = (expiresInSeconds: number, claims: Record<string, unknown> = { tenant: 'tenant-a', persona: 'ehr-backend' }) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('dr-alice')
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(new TextEncoder().encode(SECRET));

describe('JWT verifier: verified-token cache', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a repeated token from the cache with the same claims', async () => {
    const verifier = createJwtVerifier({ secret: SECRET });
    const token = await sign(3600);
    const first = await verifier.verify(token);
    expect(first).toEqual({ sub: 'dr-alice', tenant: 'tenant-a', persona: 'ehr-backend' });
    expect(await verifier.verify(token)).toBe(first);
  });

  it('still refuses a cached token once it has expired (exp plus the tolerance)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const verifier = createJwtVerifier({ secret: SECRET, clockToleranceSeconds: 5 });
    const token = await sign(10);
    await verifier.verify(token);
    vi.setSystemTime(Date.now() + 14_000);
    await expect(verifier.verify(token)).resolves.toBeDefined();
    vi.setSystemTime(Date.now() + 2_000);
    await expect(verifier.verify(token)).rejects.toThrow();
  });

  it('verifies a token that differs by one byte afresh, and caches no refusal', async () => {
    const verifier = createJwtVerifier({ secret: SECRET });
    const token = await sign(3600);
    await verifier.verify(token);
    const tampered = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
    await expect(verifier.verify(tampered)).rejects.toThrow();
    await expect(verifier.verify(tampered)).rejects.toThrow();
    const wrongPersona = await sign(3600, { tenant: 'tenant-a', persona: 'nobody' });
    await expect(verifier.verify(wrongPersona)).rejects.toThrow(/persona/);
  });
});

describe('JWT verifier: amr (RFC 8176)', () => {
  it('carries the amr claim into the claims, and none when the token has none', async () => {
    const verifier = createJwtVerifier({ secret: SECRET });
    expect(await verifier.verify(await sign(3600, { tenant: 'tenant-a', persona: 'ehr-backend', amr: ['pwd', 'otp'] }))).toEqual({
      sub: 'dr-alice',
      tenant: 'tenant-a',
      persona: 'ehr-backend',
      amr: ['pwd', 'otp'],
    });
    expect(await verifier.verify(await sign(3600))).not.toHaveProperty('amr');
  });

  it.each([
    ['"pwd"', 'pwd'],
    ['["pwd",7]', ['pwd', 7]],
    ['{"0":"pwd"}', { 0: 'pwd' }],
    ['a 33-character method', ['x'.repeat(33)]],
  ])('refuses a malformed amr: %s', async (_label, amr) => {
    const verifier = createJwtVerifier({ secret: SECRET });
    await expect(verifier.verify(await sign(3600, { tenant: 'tenant-a', persona: 'ehr-backend', amr }))).rejects.toThrow(/amr/);
  });
});
