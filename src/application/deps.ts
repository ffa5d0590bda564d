import type { PrescribingRules } from '../domain/index.js';
import type {
  ActionLedger,
  AuditTrail,
  Clock,
  DeadLetter,
  IgValidator,
  Integrations,
  PharmacyDirectory,
  PharmacyRouter,
  RateLimiter,
  TenantDirectory,
  TerminologyClient,
  TokenVerifier,
  UnitOfWork,
} from '../ports/index.js';
import type { RetryPolicy } from './use-cases/workflow-actions.use-case.js';

/** Everything the use-cases need, wired once in the composition root. */
export interface UseCaseDeps {
  uow: UnitOfWork;
  /** Reads and refused attempts are audited here, off the request path; writes audit in their transaction. */
  audit: AuditTrail;
  tenants: TenantDirectory;
  pharmacies: PharmacyDirectory;
  pharmacyRouter: PharmacyRouter;
  igValidator: IgValidator;
  terminology: TerminologyClient;
  /** Accept (and tag) resources whose codes cannot be checked because the terminology server is down. */
  terminologyDefer: boolean;
  tokens: TokenVerifier;
  /** Rule sets in force per tenant and the controlled-substance list (CONTRACT §8). */
  prescribingRules: PrescribingRules;
  clock: Clock;
  newId: () => string;
  /** How long an Idempotency-Key is remembered. @default 86_400 // 24 h (CONTRACT §4) */
  idempotencyTtlSeconds: number;
  /** Absent when rate limiting is off (RATE_LIMIT_ENABLED=false). */
  rateLimits?: { limiter: RateLimiter; burst: number; onRejected?(tenantId: string): void };
  /** Durations the workflow definitions' timers read (`slaProcessingSeconds`, …), from configuration. */
  workflowSettings: Readonly<Record<string, number>>;
  ledger: ActionLedger;
  integrations: Integrations;
  actions: {
    retry: RetryPolicy;
    sleep(ms: number): Promise<void>;
    /** Publishes a dead letter to the dead-letter stream. */
    publishDeadLetter(deadLetter: DeadLetter): Promise<void>;
    /** Told of every failed attempt (logs, metrics). */
    onFailure?(handler: string, attempt: number, error: unknown): void;
  };
}
