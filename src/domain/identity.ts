/** Who is calling, as proven by the token (CONTRACT §1). */
export const PERSONAS = ['ehr-backend', 'pharmacy-backend', 'platform-admin', 'payer-backend'] as const;
export type Persona = (typeof PERSONAS)[number];

export const isPersona = (value: unknown): value is Persona => typeof value === 'string' && (PERSONAS as readonly string[]).includes(value);

/** Tenant ids are short opaque tokens; anything else in a token is rejected as unauthenticated. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The module a tenant must license to use the gateway's prescription API. */
export const EPRESCRIBING_MODULE = 'eprescribing';

export interface Actor {
  sub: string;
  /** `system` is the gateway itself (timers, compensations): never a token's persona. */
  persona: Persona | 'system';
  /** The token's authentication methods (RFC 8176 `amr`), when it carried them; EPCS approval reads them (CONTRACT §8). */
  amr?: readonly string[];
}

/** The gateway acting on its own (CONTRACT §7: actor `system`, persona `system`). */
export const SYSTEM_ACTOR: Actor = { sub: 'system', persona: 'system' };

/**
 * The explicit context every use-case receives. Transports build it from the token and headers;
 * use-cases never look at HTTP or GraphQL objects.
 */
export interface RequestContext {
  tenantId: string;
  actor: Actor;
  correlationId: string;
}
