import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import { SignJWT } from 'jose';
import { DEVELOPMENT_TENANTS } from '../../adapters/db/seed.js';
import { type Config, DEVELOPMENT_JWT_SECRET } from '../../config.js';
import { isPersona, PERSONAS, TENANT_ID_PATTERN } from '../../domain/index.js';

/** How long a minted development token lasts: a working day at the explorer or the board. */
const TOKEN_TTL_SECONDS = 8 * 3600;
const SUBJECT_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * Whether `POST /dev/token` exists: only outside production while the documented development secret
 * signs tokens (anyone can sign those already). With a real secret or a JWKS there is no such door.
 */
export const developmentTokensEnabled = (config: Config): boolean =>
  config.env !== 'production' && !config.auth.jwksUrl && config.auth.secret === DEVELOPMENT_JWT_SECRET;

/** The "sign in as" of the explorer and the board: `GET /dev/token` lists the choices, `POST` mints a token. */
export function registerDevelopmentTokens<Logger extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>,
  config: Config,
): void {
  if (!developmentTokensEnabled(config)) return;
  const key = new TextEncoder().encode(config.auth.secret);
  app.get('/dev/token', async () => ({ tenants: DEVELOPMENT_TENANTS.map((t) => t.id), personas: PERSONAS, expiresIn: TOKEN_TTL_SECONDS }));
  // Registered before the server's error handler exists, so refusals are answered here, in its shape.
  app.post('/dev/token', async (request, reply) => {
    const refuse = (message: string) => reply.code(400).send({ error: 'BAD_REQUEST', message });
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return refuse('The body must be a JSON object: {"tenant": "tenant-a", "persona": "ehr-backend"}.');
    const { tenant, persona, sub = 'dev-user' } = body as Record<string, unknown>;
    if (typeof tenant !== 'string' || !TENANT_ID_PATTERN.test(tenant)) return refuse('tenant must be a tenant id ([A-Za-z0-9_-]{1,64}).');
    if (!isPersona(persona)) return refuse(`persona must be one of ${PERSONAS.join(', ')}.`);
    if (typeof sub !== 'string' || !SUBJECT_PATTERN.test(sub)) return refuse('sub must be 1-64 of A-Z a-z 0-9 _ . @ -.');
    const jwt = new SignJWT({ tenant, persona })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + TOKEN_TTL_SECONDS);
    if (config.auth.issuer) jwt.setIssuer(config.auth.issuer);
    if (config.auth.audience) jwt.setAudience(config.auth.audience);
    return { token: await jwt.sign(key), tenant, persona, sub, expiresIn: TOKEN_TTL_SECONDS };
  });
}
