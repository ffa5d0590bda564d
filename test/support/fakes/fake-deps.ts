import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadControlledSubstances } from '../../../src/adapters/rules/rules-file.js';
import { createFhirSchemaValidator } from '../../../src/adapters/validation/fhir-schema-validator.js';
import type { UseCaseDeps } from '../../../src/application/index.js';
import { type AuditEntry, type Persona, PrescribingRules, type RequestContext, US_FEDERAL_RULE_SET } from '../../../src/domain/index.js';
import type {
  ActionLedger,
  CodeCheck,
  DeadLetter,
  IgValidator,
  IntegrationNotice,
  Integrations,
  Pharmacy,
  TerminologyClient,
} from '../../../src/ports/index.js';
import { TerminologyUnavailableError } from '../../../src/ports/index.js';
import { createMemoryUnitOfWork, type MemoryUnitOfWork } from './memory-unit-of-work.js';

/**
 * Use-case dependencies without a server: the in-memory unit of work, a settable clock, recording
 * integrations and audit trail, the pharmacy directory of the development seed, and the gateway's
 * own in-process rules (FHIR structure, prescribing rules) — the same answers the gateway gives.
 */

/** A clock a test moves by hand. */
export interface FakeClock {
  now(): Date;
  set(at: Date): void;
  advance(ms: number): void;
}

export function createFakeClock(start = new Date('2026-12-01T09:00:00Z')): FakeClock {
  let at = start.getTime();
  return {
    now: () => new Date(at),
    set: (date) => void (at = date.getTime()),
    advance: (ms) => void (at += ms),
  };
}

const dataFile = (name: string) => fileURLToPath(new URL(`../../../data/${name}`, import.meta.url));

/** Pharmacies of data/pharmacies.json (the development seed), so fixtures' `Organization/FM664` resolves. */
const PHARMACIES: ReadonlyMap<string, Pharmacy> = new Map(
  (JSON.parse(readFileSync(dataFile('pharmacies.json'), 'utf8')) as fhir4.Organization[]).map((o) => [
    o.id!,
    { id: o.id!, name: o.name ?? o.id!, resource: o },
  ]),
);

let schemaValidator: IgValidator | undefined;
/**
 * The gateway's FHIR R4 structure validator, loaded once per worker. Loading it takes a third of a
 * second (seconds when the generated code is not cached yet), so use-case tests get
 * {@link ACCEPTING_VALIDATOR} unless they ask for it (`fhirStructure: true`).
 */
export const fhirSchemaValidator = (): IgValidator => (schemaValidator ??= createFhirSchemaValidator());

/** Structure checks left to the gateway's own rules (`validateMedicationRequest` and co. still run). */
export const ACCEPTING_VALIDATOR: IgValidator = { validate: () => [], warmUp: () => undefined };

/** A terminology port that accepts well-formed codes, or is down while `down` is set. */
export function createFakeTerminology(): TerminologyClient & { down: boolean } {
  return {
    down: false,
    async check(_system, code): Promise<CodeCheck | undefined> {
      if (this.down) throw new TerminologyUnavailableError('terminology server unreachable (fake)');
      return /^[A-Za-z0-9.-]+$/.test(code) ? { valid: true } : { valid: false, message: `'${code}' is not a code` };
    },
  };
}

/** Bookkeeping of workflow actions in memory. */
export function createMemoryActionLedger(): ActionLedger {
  const done = new Map<string, { tenantId: string; instanceId?: string; attempts: number; handler: string }>();
  const dead = new Map<string, DeadLetter>();
  const doneKey = (handler: string, eventId: string) => `${handler}/${eventId}`;
  return {
    isDone: async (handler, eventId) => done.has(doneKey(handler, eventId)),
    async markDone(entry) {
      done.set(doneKey(entry.handler, entry.eventId), entry);
    },
    completedFor: async (tenantId, instanceId) =>
      [...done.values()].filter((d) => d.tenantId === tenantId && d.instanceId === instanceId).map((d) => d.handler),
    async runsFor(tenantId, instanceIds) {
      const out = new Map<string, Array<{ handler: string; status: 'done' | 'dead-lettered'; attempts: number; lastError: string | null }>>();
      for (const d of done.values()) {
        if (d.tenantId === tenantId && d.instanceId && instanceIds.includes(d.instanceId))
          out.set(d.instanceId, [...(out.get(d.instanceId) ?? []), { handler: d.handler, status: 'done', attempts: d.attempts, lastError: null }]);
      }
      return out;
    },
    async deadLetter(entry) {
      const existing = [...dead.values()].find((d) => d.handler === entry.handler && d.eventId === entry.eventId && d.resolvedAt === null);
      const letter: DeadLetter = { ...entry, id: existing?.id ?? entry.id, createdAt: existing?.createdAt ?? new Date(), resolvedAt: null };
      dead.set(letter.id, letter);
      return letter;
    },
    listDeadLetters: async (tenantId, filter) =>
      [...dead.values()]
        .filter(
          (d) =>
            d.tenantId === tenantId &&
            (filter.includeResolved || d.resolvedAt === null) &&
            (!filter.handler || d.handler === filter.handler) &&
            (!filter.eventType || d.eventType === filter.eventType),
        )
        .slice(0, filter.limit),
    findDeadLetter: async (tenantId, id) => [...dead.values()].find((d) => d.tenantId === tenantId && d.id === id),
    async resolve(letter, attempts) {
      dead.set(letter.id, { ...letter, attempts, resolvedAt: new Date() });
      done.set(doneKey(letter.handler, letter.eventId), { tenantId: letter.tenantId, attempts, handler: letter.handler });
    },
    async recordFailedReplay(letter, error) {
      const updated = { ...letter, error, attempts: letter.attempts + 1 };
      dead.set(letter.id, updated);
      return updated;
    },
  };
}

/** Integrations that only record what they were told. */
export function createRecordingIntegrations(): Integrations & { notices: Array<{ call: string; notice: IntegrationNotice }> } {
  const notices: Array<{ call: string; notice: IntegrationNotice }> = [];
  const record = (call: string) => async (notice: IntegrationNotice) => void notices.push({ call, notice });
  return {
    notices,
    insurance: { approvalGranted: record('approvalGranted'), approvalReversed: record('approvalReversed') },
    pharmacy: { sendPrescription: record('sendPrescription'), cancelPrescription: record('cancelPrescription') },
    patient: { prescriptionDispensed: record('prescriptionDispensed'), prescriptionCompleted: record('prescriptionCompleted') },
    support: { prescriptionFailed: record('prescriptionFailed'), alert: record('alert') },
  };
}

export interface FakeDeps extends UseCaseDeps {
  uow: MemoryUnitOfWork;
  clock: FakeClock;
  terminology: TerminologyClient & { down: boolean };
  /** Entries handed to the off-path audit trail (reads, refusals). */
  auditedLater: AuditEntry[];
}

/** Everything a use-case needs, in memory; `overrides` replace single dependencies. */
export function createFakeDeps(overrides: Partial<UseCaseDeps> = {}): FakeDeps {
  const clock = createFakeClock();
  const auditedLater: AuditEntry[] = [];
  const pharmacies = {
    findByIds: async (ids: readonly string[]) => ids.flatMap((id) => (PHARMACIES.has(id) ? [PHARMACIES.get(id)!] : [])),
    search: async () => ({
      items: [...PHARMACIES.values()].map((record) => ({ record, position: { name: record.name.toLowerCase(), id: record.id } })),
      hasMore: false,
    }),
  };
  const deps: FakeDeps = {
    uow: createMemoryUnitOfWork({ clock }),
    audit: { recordLater: (entries) => void auditedLater.push(...entries), flush: async () => undefined, close: async () => undefined },
    auditedLater,
    tenants: { find: async (id) => ({ id, name: id, modules: ['eprescribing'] }) },
    pharmacies,
    pharmacyRouter: { resolve: async (id) => PHARMACIES.get(id) },
    igValidator: ACCEPTING_VALIDATOR,
    terminology: createFakeTerminology(),
    terminologyDefer: false,
    tokens: {
      verify: async () => {
        throw new Error('no tokens in use-case tests');
      },
    },
    prescribingRules: new PrescribingRules(loadControlledSubstances(dataFile('controlled-substances.json')), [US_FEDERAL_RULE_SET]),
    clock,
    newId: randomUUID,
    idempotencyTtlSeconds: 86_400,
    workflowSettings: {},
    ledger: createMemoryActionLedger(),
    integrations: createRecordingIntegrations(),
    actions: {
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } as UseCaseDeps['actions']['retry'],
      sleep: async () => undefined,
      publishDeadLetter: async () => undefined,
    },
    ...overrides,
  } as FakeDeps;
  return deps;
}

let correlation = 0;
/** The request context of a caller of `tenantId` with this persona. */
export const contextOf = (persona: Persona | 'system', tenantId = 'tenant-a', extra: { sub?: string; amr?: string[] } = {}): RequestContext => ({
  tenantId,
  actor: { sub: extra.sub ?? `${persona}-user`, persona, ...(extra.amr ? { amr: extra.amr } : {}) },
  correlationId: `corr-${++correlation}`,
});
