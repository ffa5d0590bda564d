import type { EntityManager } from 'typeorm';
import type { Issue } from '../../domain/index.js';
import type { CommandLedger, CommandOutcome } from '../../ports/index.js';

interface Row {
  command_id: string;
  command: string;
  outcome: 'accepted' | 'rejected';
  reference: string | null;
  version: number | null;
  error_code: string | null;
  message: string | null;
  issues: Issue[] | null;
}

const toOutcome = (row: Row): CommandOutcome =>
  row.outcome === 'accepted'
    ? { commandId: row.command_id, command: row.command, outcome: 'accepted', reference: row.reference!, version: row.version! }
    : { commandId: row.command_id, command: row.command, outcome: 'rejected', code: row.error_code!, message: row.message!, issues: row.issues ?? [] };

/** The `bus_commands` table of one tenant, inside the caller's transaction. */
export function createCommandLedger(manager: EntityManager, tenantId: string): CommandLedger {
  return {
    async claim(commandId) {
      // Transaction-scoped: released at commit or rollback, never leaked.
      await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`cmd:${tenantId}:${commandId}`]);
    },

    async find(commandId) {
      const rows: Row[] = await manager.query(
        'SELECT command_id, command, outcome, reference, version, error_code, message, issues FROM bus_commands WHERE tenant_id = $1 AND command_id = $2',
        [tenantId, commandId],
      );
      return rows[0] && toOutcome(rows[0]);
    },

    async record(outcome) {
      const accepted = outcome.outcome === 'accepted' ? outcome : undefined;
      const rejected = outcome.outcome === 'rejected' ? outcome : undefined;
      await manager.query(
        `INSERT INTO bus_commands (tenant_id, command_id, command, outcome, reference, version, error_code, message, issues)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          tenantId,
          outcome.commandId,
          outcome.command,
          outcome.outcome,
          accepted?.reference ?? null,
          accepted?.version ?? null,
          rejected?.code ?? null,
          rejected?.message ?? null,
          rejected && rejected.issues.length > 0 ? JSON.stringify(rejected.issues) : null,
        ],
      );
    },
  };
}
