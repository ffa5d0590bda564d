import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { isPersona, TENANT_ID_PATTERN } from '../../domain/index.js';
import type { TokenClaims, TokenVerifier } from '../../ports/index.js';

/** How `createJwtVerifier` verifies tokens (from `Config.auth`). */
export interface JwtVerifierOptions {
  /** HS256 shared secret. Used when `jwksUrl` is not set. */
  secret?: string;
  /** JWKS endpoint for RS256/ES256 tokens; takes precedence over `secret`. */
  jwksUrl?: string;
  /** Required `iss` claim, when set. */
  issuer?: string;
  /** Required `aud` claim, when set. */
  audience?: string;
  /** Clock skew tolerated on `exp` and `nbf`, in seconds. @default 30 */
  clockToleranceSeconds?: number;
  /** Minimum time between two JWKS fetches (an unknown `kid` triggers one). @default 30_000 */
  jwksCooldownMs?: number;
  /**
   * How long a verified token is remembered (never past its `exp` plus the tolerance): clients send
   * the same token with every request, and a WebCrypto verification costs more than the read it
   * authorises. Also bounds how long a token signed by a key removed from the JWKS keeps working.
   * 0 turns the cache off. @default 60_000
   */
  verifiedCacheMs?: number;
}

/** Verified tokens, by their exact text (a changed byte is another key, verified afresh). */
class VerifiedTokens {
  private readonly entries = new Map<string, { claims: TokenClaims; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(token: string): TokenClaims | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.claims;
  }

  set(token: string, claims: TokenClaims, expiresAtMs: number): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { claims, until: Math.min(Date.now() + this.ttlMs, expiresAtMs) });
  }
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

  const verified = new VerifiedTokens(options.verifiedCacheMs ?? 60_000);
  const toleranceMs = (verifyOptions.clockTolerance as number) * 1000;

  return {
    async verify(token) {
      const known = verified.get(token);
      if (known) return known;
      const { payload } = await jwtVerify(token, key as JWTVerifyGetKey, verifyOptions);
      const { sub, tenant, persona, amr } = payload as Record<string, unknown>;
      if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) throw new Error('sub claim missing or invalid');
      if (typeof tenant !== 'string' || !TENANT_ID_PATTERN.test(tenant)) throw new Error('tenant claim missing or malformed');
      if (!isPersona(persona)) throw new Error('persona claim missing or unknown');
      // RFC 8176: `amr` is an array of short strings; anything else is a malformed token, not "no methods".
      if (amr !== undefined && !(Array.isArray(amr) && amr.length <= 16 && amr.every((m) => typeof m === 'string' && m.length > 0 && m.length <= 32)))
        throw new Error('amr claim malformed');
      const claims = Object.freeze({
        sub,
        tenant,
        persona,
        ...(amr === undefined ? {} : { amr: Object.freeze([...(amr as string[])]) }),
      } satisfies TokenClaims);
      // `exp` is required, so every cached token expires exactly as jwtVerify would judge it.
      verified.set(token, claims, (payload.exp as number) * 1000 + toleranceMs);
      return claims;
    },
  };
}
