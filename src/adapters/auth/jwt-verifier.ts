import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { isPersona, TENANT_ID_PATTERN } from '../../domain/index.js';
import type { TokenClaims, TokenVerifier } from '../../ports/index.js';

export interface JwtVerifierOptions {
  /** HS256 shared secret. Used when `jwksUrl` is not set. */
  secret?: string;
  /** JWKS endpoint for RS256/ES256 tokens; takes precedence over `secret`. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** @default 30 // seconds of clock skew tolerated on exp / nbf */
  clockToleranceSeconds?: number;
  /** Minimum time between two JWKS fetches (an unknown `kid` triggers one). @default 30_000 */
  jwksCooldownMs?: number;
}

/**
 * Verifies tokens of CONTRACT §1. The algorithm list is fixed per key type, so `alg: none` and
 * algorithm confusion (an RS256 public key used as an HS256 secret) are refused by construction.
 */
export function createJwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const verifyOptions: JWTVerifyOptions = {
    clockTolerance: options.clockToleranceSeconds ?? 30,
    requiredClaims: ['exp', 'sub'],
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  let key: Uint8Array | JWTVerifyGetKey;
  if (options.jwksUrl) {
    key = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: options.jwksCooldownMs ?? 30_000, cacheMaxAge: 600_000 });
    verifyOptions.algorithms = ['RS256', 'ES256'];
  } else if (options.secret) {
    key = new TextEncoder().encode(options.secret);
    verifyOptions.algorithms = ['HS256'];
  } else {
    throw new Error('createJwtVerifier needs a secret or a JWKS URL');
  }

  return {
    async verify(token) {
      const { payload } = await jwtVerify(token, key as JWTVerifyGetKey, verifyOptions);
      const { sub, tenant, persona } = payload as Record<string, unknown>;
      if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) throw new Error('sub claim missing or invalid');
      if (typeof tenant !== 'string' || !TENANT_ID_PATTERN.test(tenant)) throw new Error('tenant claim missing or malformed');
      if (!isPersona(persona)) throw new Error('persona claim missing or unknown');
      return { sub, tenant, persona } satisfies TokenClaims;
    },
  };
}
