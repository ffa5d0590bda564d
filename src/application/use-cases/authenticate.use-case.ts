import { deniedEntry, DomainError, EPRESCRIBING_MODULE, type RequestContext } from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';

export interface AuthenticateInput {
  /** The `Authorization` header (or graphql-ws `connectionParams.authorization`). */
  authorization: string | undefined;
  /** `X-Tenant-Id`, when the caller names a tenant (or the tenant a bus command's subject names). */
  tenantHeader?: string;
  /** What named `tenantHeader`, for the refusal's message. @default 'X-Tenant-Id' */
  tenantNamedBy?: string;
  correlationId: string;
}

/**
 * Turns a bearer token into the request context, in the order of CONTRACT §2: a bad token is
 * 401; a tenant header naming another tenant, or a tenant without the module, is 403.
 */
export async function authenticate(deps: UseCaseDeps, input: AuthenticateInput): Promise<RequestContext> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(input.authorization ?? '');
  if (!match) throw new DomainError('UNAUTHENTICATED', 'Send a bearer token: Authorization: Bearer <JWT>.');
  let claims;
  try {
    claims = await deps.tokens.verify(match[1]);
  } catch {
    throw new DomainError('UNAUTHENTICATED', 'The bearer token is not valid (signature, expiry or claims); obtain a new token.');
  }
  const ctx: RequestContext = {
    tenantId: claims.tenant,
    actor: { sub: claims.sub, persona: claims.persona, ...(claims.amr ? { amr: claims.amr } : {}) },
    correlationId: input.correlationId,
  };
  // A valid token that is refused at the tenant wall is an attempt worth auditing: who tried is known.
  const deny = (code: 'TENANT_ISOLATION_VIOLATION' | 'MODULE_NOT_LICENSED', message: string, detail: string): never => {
    deps.audit.recordLater([deniedEntry(ctx, code, detail)]);
    throw new DomainError(code, message);
  };
  if (input.tenantHeader !== undefined && input.tenantHeader !== claims.tenant) {
    const namedBy = input.tenantNamedBy ?? 'X-Tenant-Id';
    deny(
      'TENANT_ISOLATION_VIOLATION',
      `${namedBy} names a tenant other than the token's; a token acts for its own tenant only.`,
      `${namedBy}: ${input.tenantHeader.slice(0, 64)}`,
    );
  }
  const tenant = await deps.tenants.find(claims.tenant);
  if (!tenant?.modules.includes(EPRESCRIBING_MODULE)) {
    deny('MODULE_NOT_LICENSED', `Tenant '${claims.tenant}' does not license the '${EPRESCRIBING_MODULE}' module.`, `module ${EPRESCRIBING_MODULE}`);
  }
  return ctx;
}
