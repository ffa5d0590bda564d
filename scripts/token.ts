/**
 * Prints a development token: npm run -s token -- --tenant tenant-a --persona ehr-backend [--sub alice] [--ttl 3600] [--amr pwd,otp]
 * `--amr` sets the RFC 8176 authentication methods (approving a controlled prescription needs two factors).
 * Signed with AUTH_JWT_SECRET, or the documented development secret outside production.
 */
import { SignJWT } from 'jose';
import { parseCommandLine } from '../src/cli.js';
import { loadConfig } from '../src/config.js';
import { isPersona, PERSONAS, TENANT_ID_PATTERN } from '../src/domain/index.js';

const USAGE = `usage: npm run -s token -- --tenant <tenant> --persona <persona> [--sub <subject>] [--ttl <seconds>]

Prints a development token (HS256), signed with AUTH_JWT_SECRET, or the documented development
secret outside production.

options:
  --tenant <tenant>    tenant id, e.g. tenant-a ([A-Za-z0-9_-]{1,64}; required)
  --persona <persona>  ${PERSONAS.join(' | ')} (required)
  --sub <subject>      the token's subject (default: dev-user)
  --ttl <seconds>      lifetime in seconds (default: 3600)
  --amr <methods>      RFC 8176 authentication methods, comma-separated (e.g. pwd,otp: two factors, for approving controlled substances)
  -h, --help           print this help and exit
`;

const values = parseCommandLine('token', USAGE, {
  tenant: { type: 'string' },
  persona: { type: 'string' },
  sub: { type: 'string', default: 'dev-user' },
  ttl: { type: 'string', default: '3600' },
  amr: { type: 'string' },
});

const fail = (message: string): never => {
  console.error(`token: ${message}\n\n${USAGE.trimEnd()}`);
  process.exit(2);
};

if (!values.tenant || !TENANT_ID_PATTERN.test(values.tenant)) fail('--tenant is required ([A-Za-z0-9_-]{1,64})');
if (!isPersona(values.persona)) fail(`--persona must be one of ${PERSONAS.join(', ')}`);
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive number of seconds');

const amr =
  values.amr === undefined
    ? undefined
    : values.amr
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
if (amr !== undefined && (amr.length === 0 || amr.some((m) => !/^[a-z]{2,32}$/.test(m))))
  fail('--amr must be RFC 8176 method names separated by commas (e.g. pwd,otp)');

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
})();
if (!config.auth.secret) fail('no AUTH_JWT_SECRET is configured (tokens for a JWKS deployment come from its identity provider)');

const builder = new SignJWT({ tenant: values.tenant, persona: values.persona, ...(amr ? { amr } : {}) })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(values.sub!)
  .setIssuedAt()
  .setExpirationTime(Math.floor(Date.now() / 1000) + ttl);
if (config.auth.issuer) builder.setIssuer(config.auth.issuer);
if (config.auth.audience) builder.setAudience(config.auth.audience);
console.log(await builder.sign(new TextEncoder().encode(config.auth.secret!)));
