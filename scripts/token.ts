/**
 * Prints a development token: npm run -s token -- --tenant tenant-a --persona ehr-backend [--sub alice] [--ttl 3600]
 * Signed with AUTH_JWT_SECRET, or the documented development secret outside production.
 */
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { isPersona, PERSONAS, TENANT_ID_PATTERN } from '../src/domain/index.js';
import { loadConfig } from '../src/config.js';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    persona: { type: 'string' },
    sub: { type: 'string', default: 'dev-user' },
    ttl: { type: 'string', default: '3600' },
  },
});

const fail = (message: string): never => {
  console.error(`token: ${message}\nusage: npm run -s token -- --tenant tenant-a --persona ${PERSONAS.join('|')} [--sub alice] [--ttl seconds]`);
  process.exit(2);
};

if (!values.tenant || !TENANT_ID_PATTERN.test(values.tenant)) fail('--tenant is required ([A-Za-z0-9_-]{1,64})');
if (!isPersona(values.persona)) fail(`--persona must be one of ${PERSONAS.join(', ')}`);
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive number of seconds');

const config = loadConfig();
if (!config.auth.secret) fail('no AUTH_JWT_SECRET is configured (tokens for a JWKS deployment come from its identity provider)');

const builder = new SignJWT({ tenant: values.tenant, persona: values.persona })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(values.sub!)
  .setIssuedAt()
  .setExpirationTime(Math.floor(Date.now() / 1000) + ttl);
if (config.auth.issuer) builder.setIssuer(config.auth.issuer);
if (config.auth.audience) builder.setAudience(config.auth.audience);
console.log(await builder.sign(new TextEncoder().encode(config.auth.secret!)));
