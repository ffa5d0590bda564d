/** Ports of identity: verifying tokens and knowing tenants. */
import type { Persona } from '../domain/index.js';

/** Claims of a verified token (CONTRACT §1). */
export interface TokenClaims {
  /** Who acts (the audit's actor). */
  sub: string;
  /** The tenant the token is for; every request is scoped to it. */
  tenant: string;
  /** The kind of client acting, which decides what it may do (CONTRACT §1). */
  persona: Persona;
  /** RFC 8176 authentication method references, when the token carries `amr`. */
  amr?: readonly string[];
}

/** Verifies a bearer token. Rejects (any error) when the token is not acceptable; never returns partial claims. */
export interface TokenVerifier {
  /** The token's claims, once its signature, expiry and claims are checked. */
  verify(token: string): Promise<TokenClaims>;
}

/** A tenant (a customer organisation) and what it licenses. */
export interface Tenant {
  /** The id tokens name it by (the `tenant` claim). */
  id: string;
  /** Display name. */
  name: string;
  /** Licensed modules; a request needs `eprescribing` among them (else `MODULE_NOT_LICENSED`). */
  modules: string[];
}

/** The tenants table. Answers `undefined` for a tenant that does not exist. */
export interface TenantDirectory {
  /** The tenant with this id, or `undefined`. */
  find(id: string): Promise<Tenant | undefined>;
}
