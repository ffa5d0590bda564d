/** Ports of the audit trail. */
import type { AuditEntry, AuditRecord } from '../domain/index.js';
import type { DateBound } from './storage.js';

/** Criteria of an audit search (FHIR `AuditEvent?entity=…&agent=…&date=…`), newest first. */
export interface AuditCriteria {
  /** Entries about this resource: its id, and its type when given. */
  entity?: { type?: string; id: string };
  /** Entries of this actor (the token's `sub`). */
  actor?: string;
  /** Entries recorded within every one of these bounds. */
  recorded?: DateBound[];
  /** Entries with this outcome. */
  outcome?: AuditRecord['outcome'];
  /** Keyset position: entries older than this one (by time, then id). */
  before?: { recorded: Date; id: string };
  /** Entries the page holds; the store reads one more. */
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
  /** Writes what is queued and stops the timer (shutdown). */
  close(): Promise<void>;
}
