/** Ports of the audit trail. */
import type { AuditEntry, AuditRecord } from '../domain/index.js';
import type { DateBound } from './storage.js';

/** Criteria of an audit search (FHIR `AuditEvent?entity=…&agent=…&date=…`), newest first. */
export interface AuditCriteria {
  entity?: { type?: string; id: string };
  actor?: string;
  recorded?: DateBound[];
  outcome?: AuditRecord['outcome'];
  /** Keyset position: entries older than this one (by time, then id). */
  before?: { recorded: Date; id: string };
  limit: number;
}

/** The audit table, inside a tenant's transaction. */
export interface AuditStore {
  /** Inserts entries in the caller's transaction: they commit (or vanish) with the write they describe. */
  record(entries: readonly AuditEntry[]): Promise<void>;
  /** One page of the tenant's entries, newest first (`limit + 1` read, so callers can tell more exist). */
  search(criteria: AuditCriteria): Promise<AuditRecord[]>;
}

/**
 * Entries recorded off the request's path (reads and refused attempts, which write nothing of
 * their own): buffered and inserted in batches.
 */
export interface AuditTrail {
  /** Queues entries; never throws and never waits for the database. */
  recordLater(entries: readonly AuditEntry[]): void;
  /** Writes everything queued so far (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
