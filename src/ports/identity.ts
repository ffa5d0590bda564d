/** Ports of identity: verifying tokens and knowing tenants. */
import type { Persona } from '../domain/index.js';

/** Claims of a verified token (CONTRACT §1). */
export interface TokenClaims {
  sub: string;
  tenant: string;
  persona: Persona;
  /** RFC 8176 authentication method references, when the token carries `amr`. */
  amr?: readonly string[];
}

/** Verifies a bearer token. Rejects (any error) when the token is not acceptable; never returns partial claims. */
export interface TokenVerifier {
  verify(token: string): Promise<TokenClaims>;
}

export interface Tenant {
  id: string;
  name: string;
  modules: string[];
}

/** The tenants table. Answers `undefined` for a tenant that does not exist. */
export interface TenantDirectory {
  find(id: string): Promise<Tenant | undefined>;
}
