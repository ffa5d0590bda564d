import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { rawGraphql } from '../support/graphql.js';
import { startTestApp } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';

const page = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...headers } });
const mint = (url: string, body: unknown) =>
  fetch(`${url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('web pages: the offline explorer, the board and "sign in as" (issue 19)', () => {
  const t = useTestApp();

  it('serves the explorer to a browser at GET /graphql before authentication, from its own bundles only', async () => {
    const response = await page(`${t.url}/graphql`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await response.text();
    expect(html).toContain('src="/ui/explorer.js"');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing from another host (no CDN)
    expect(html).not.toContain('apollo'); // not Apollo's landing page

    const script = await fetch(`${t.url}/ui/explorer.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = script.headers.get('etag')!;
    expect((await fetch(`${t.url}/ui/explorer.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const raw = await fetch(`${t.url}/ui/explorer.css`, { headers: { 'accept-encoding': 'identity' } });
    expect(raw.headers.get('content-encoding')).toBeNull();
    expect(await raw.text()).toContain('graphiql');
    expect((await fetch(`${t.url}/ui/explorer.html`)).status).toBe(404);
    expect((await fetch(`${t.url}/ui/..%2Fsrc%2Fmain.js`)).status).toBe(404);
  });

  it('leaves every GraphQL request on /graphql as it was: a token is still required, GET queries still answered', async () => {
    const unauthenticated = await fetch(`${t.url}/graphql?query=%7B__typename%7D`, { headers: { accept: 'application/json' } });
    expect(unauthenticated.status).toBe(401);
    const token = await t.token('tenant-a', 'ehr-backend');
    // A browser-like Accept with a query in the URL is a GraphQL request, not the page.
    const query = await page(`${t.url}/graphql?query=%7B__typename%7D`, { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' });
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { __typename: 'Query' } });
    expect((await rawGraphql(t.url, { query: '{ __typename }' })).status).toBe(401);
  });

  it('serves the board at /board, gzip-compressed where accepted', async () => {
    const response = await fetch(`${t.url}/board`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('src="/ui/board.js"'); // fetch decompresses
    // fetch always decompresses: node:http shows the bytes as sent.
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) =>
      get(`${t.url}/ui/board.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      }).on('error', reject),
    );
    expect(raw.encoding).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toContain('prescriptionEvents');
  });

  it('mints a development token for a chosen tenant and persona, which the gateway accepts', async () => {
    const options = (await (await fetch(`${t.url}/dev/token`)).json()) as { tenants: string[]; personas: string[] };
    expect(options.tenants).toContain('tenant-a');
    expect(options.personas).toEqual(['ehr-backend', 'pharmacy-backend', 'platform-admin', 'payer-backend']);
    const response = await mint(t.url, { tenant: 'tenant-b', persona: 'pharmacy-backend' });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ tenant: 'tenant-b', persona: 'pharmacy-backend', sub: 'dev-user' });
    expect((await rawGraphql(t.url, { query: '{ medicationRequests(first: 1) { totalCount } }' }, token)).data).toEqual({
      medicationRequests: { totalCount: 0 },
    });

    for (const [body, message] of [
      [{ tenant: 'tenant-a', persona: 'pharmacist' }, /persona must be one of/],
      [{ tenant: 'bad tenant', persona: 'ehr-backend' }, /tenant must be/],
      [{ persona: 'ehr-backend' }, /tenant must be/],
      [{ tenant: 'tenant-a', persona: 'ehr-backend', sub: 'a b' }, /sub must be/],
      [[1], /JSON object/],
    ] as const) {
      const refused = await mint(t.url, body);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'BAD_REQUEST', message: expect.stringMatching(message) });
    }
  });

  it('has no token door with a real secret, even outside production', async () => {
    const real = await startTestApp({ env: { AUTH_JWT_SECRET: 'a-real-development-secret' } });
    try {
      expect((await fetch(`${real.url}/dev/token`)).status).toBe(404);
      expect((await mint(real.url, { tenant: 'tenant-a', persona: 'ehr-backend' })).status).toBe(404);
      expect((await page(`${real.url}/graphql`)).status).toBe(200); // the explorer stays: tokens are pasted
    } finally {
      await real.close();
    }
  });

  it('in production: no explorer and no token door unless GRAPHQL_EXPLORER=true, which brings the explorer and introspection back', async () => {
    const secret = 'production-test-secret';
    const token = await new SignJWT({ tenant: 'tenant-a', persona: 'ehr-backend' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('p')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret));
    const env = { NODE_ENV: 'production', AUTH_JWT_SECRET: secret, SEED_DEV_DATA: 'true' };
    const off = await startTestApp({ env });
    try {
      const explorer = await page(`${off.url}/graphql`);
      expect(explorer.status).toBe(401); // the GraphQL endpoint, which wants a token
      expect(await explorer.text()).not.toContain('<html');
      expect((await page(`${off.url}/graphql`, { authorization: `Bearer ${token}` })).status).toBe(400); // no landing page either
      expect((await mint(off.url, { tenant: 'tenant-a', persona: 'ehr-backend' })).status).toBe(404);
      expect((await page(`${off.url}/board`)).status).toBe(200);
    } finally {
      await off.close();
    }
    const on = await startTestApp({ env: { ...env, GRAPHQL_EXPLORER: 'true' } });
    try {
      const explorer = await page(`${on.url}/graphql`);
      expect(explorer.status).toBe(200);
      // The page's own policy replaces helmet's, whose upgrade-insecure-requests would turn ws: into wss:.
      expect(explorer.headers.get('content-security-policy')).toContain("connect-src 'self'");
      expect(explorer.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
      expect((await rawGraphql(on.url, { query: '{ __type(name: "PrescriptionStatus") { enumValues { name } } }' }, token)).data).toMatchObject({
        __type: { enumValues: expect.arrayContaining([{ name: 'APPROVED' }]) },
      });
      expect((await mint(on.url, { tenant: 'tenant-a', persona: 'ehr-backend' })).status).toBe(404);
    } finally {
      await on.close();
    }
  });
});
