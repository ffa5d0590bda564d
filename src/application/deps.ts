import type { Clock, PharmacyDirectory, TenantDirectory, TokenVerifier, UnitOfWork } from '../ports/index.js';

/** Everything the use-cases need, wired once in the composition root. */
export interface UseCaseDeps {
  uow: UnitOfWork;
  tenants: TenantDirectory;
  pharmacies: PharmacyDirectory;
  tokens: TokenVerifier;
  clock: Clock;
  newId: () => string;
  /** How long an Idempotency-Key is remembered. @default 86_400 // 24 h (CONTRACT §4) */
  idempotencyTtlSeconds: number;
}
