import { createServer, type Server } from 'node:http';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_JWT_SECRET } from '../../src/config.js';
import { request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ISSUER = 'https://idp.example';
const AUDIENCE = 'rxgate';
let server: Server;
let keys: JWK[] = [];
let fetches = 0;
let t: TestApp;
let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let ec: Awaited<ReturnType<typeof generateKeyPair>>;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const jwks = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  t = await startTestApp({
    env: { AUTH_JWKS_URL: jwks, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_COOLDOWN_MS: '0', AUTH_CLOCK_TOLERANCE_SECONDS: '30' },
  });
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => server.close(resolve));
});

const claims = { tenant: 'tenant-a', persona: 'ehr-backend' };
const now = () => Math.floor(Date.now() / 1000);

async function sign(
  key: Parameters<SignJWT['sign']>[0],
  header: { alg: string; kid?: string },
  overrides: { iss?: string; aud?: string; exp?: number; nbf?: number; extra?: Record<string, unknown> } = {},
) {
  const jwt = new SignJWT({ ...claims, ...overrides.extra })
    .setProtectedHeader(header)
    .setSubject('alice')
    .setIssuedAt()
    .setIssuer(overrides.iss ?? ISSUER)
    .setAudience(overrides.aud ?? AUDIENCE)
    .setExpirationTime(overrides.exp ?? now() + 300);
  if (overrides.nbf !== undefined) jwt.setNotBefore(overrides.nbf);
  return jwt.sign(key);
}

const status = async (token: string) => (await request(`${t.url}/fhir/MedicationRequest?_count=1`, { token })).status;

describe('JWKS tokens (RS256 / ES256)', () => {
  it('accepts RS256 and ES256 tokens from the JWKS, caching the keys', async () => {
    const before = fetches;
    expect(await status(await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }))).toBe(200);
    expect(await status(await sign(ec.privateKey, { alg: 'ES256', kid: 'ec-1' }))).toBe(200);
    expect(await status(await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }))).toBe(200);
    expect(fetches - before).toBeLessThanOrEqual(1);
  });

  it('refetches the JWKS once for an unknown kid (key rotation)', async () => {
    const rotated = await generateKeyPair('RS256', { extractable: true });
    keys = [...keys, { ...(await exportJWK(rotated.publicKey)), kid: 'rsa-2', alg: 'RS256', use: 'sig' }];
    const before = fetches;
    expect(await status(await sign(rotated.privateKey, { alg: 'RS256', kid: 'rsa-2' }))).toBe(200);
    expect(fetches - before).toBe(1);
    const unknown = await generateKeyPair('RS256');
    expect(await status(await sign(unknown.privateKey, { alg: 'RS256', kid: 'nobody' }))).toBe(401);
  });

  it('refuses the wrong issuer or audience, a token not yet valid, an expired one, HS256 and algorithm confusion', async () => {
    const rs = (o: Parameters<typeof sign>[2]) => sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, o);
    expect(await status(await rs({ iss: 'https://other.example' }))).toBe(401);
    expect(await status(await rs({ aud: 'someone-else' }))).toBe(401);
    expect(await status(await rs({ nbf: now() + 600 }))).toBe(401);
    expect(await status(await rs({ exp: now() - 600 }))).toBe(401);
    expect(await status(await rs({ exp: now() - 10 }))).toBe(200); // within the clock-skew tolerance
    expect(await status(await rs({ extra: { persona: 'root' } }))).toBe(401);
    expect(await status(await rs({ extra: { tenant: '../etc' } }))).toBe(401);
    // An HS256 token, even with the development secret, is not accepted when a JWKS is configured.
    expect(await status(await sign(new TextEncoder().encode(DEVELOPMENT_JWT_SECRET), { alg: 'HS256' }))).toBe(401);
    // Algorithm confusion: the RSA public key used as an HS256 secret.
    const pem = await exportSPKI(rsa.publicKey);
    expect(await status(await sign(new TextEncoder().encode(pem), { alg: 'HS256', kid: 'rsa-1' }))).toBe(401);
  });
});
