import { describe, expect, it } from 'vitest';
import { READ_AUDITS, READS_NOT_AUDITED } from '../../src/application/audit.js';
import type { UseCaseDeps } from '../../src/application/deps.js';
import { createUseCases, type UseCases } from '../../src/application/index.js';
import { fhirResourceModules } from '../../src/transport/fhir/fhir.plugin.js';
import { capabilityStatement, type Interaction } from '../../src/transport/fhir/registry.js';
import { buildGraphqlSchema } from '../../src/transport/graphql/schema.js';

/**
 * CONTRACT §1: every read of a prescription or dispense is audited. Reads are audited by the
 * READ_AUDITS table (application/audit.ts), keyed by use-case: a resource added to the facade or the
 * graph without an entry there (or a deliberate one in READS_NOT_AUDITED) would be read unaudited,
 * silently. These checks make that a failure.
 */
const READ_INTERACTIONS: ReadonlySet<Interaction> = new Set(['read', 'vread', 'search-type', 'history-instance', 'history-type']);

// Binding use-cases touches nothing: the deps are only called when a use-case runs.
const useCases = createUseCases({ audit: { recordLater: () => undefined } } as unknown as UseCaseDeps);
const capability = capabilityStatement(fhirResourceModules({} as UseCases), 'test');
const readable = capability
  .rest![0].resource!.map((r) => ({ type: r.type, reads: r.interaction!.map((i) => i.code as Interaction).filter((code) => READ_INTERACTIONS.has(code)) }))
  .filter((r) => r.reads.length > 0);

const auditedInteractions = (type: string) =>
  new Set(
    Object.values(READ_AUDITS)
      .filter((spec) => spec.type === type)
      .map((spec) => spec.interaction),
  );

describe('audit coverage of reads (CONTRACT §1)', () => {
  it('every resource type readable through FHIR has each of its read interactions audited, or says why not', () => {
    const unaudited = readable.flatMap(({ type, reads }) =>
      type in READS_NOT_AUDITED ? [] : reads.filter((i) => !auditedInteractions(type).has(i)).map((i) => `${type} ${i}`),
    );
    expect(unaudited).toEqual([]);
  });

  it('every GraphQL type carrying a FHIR resource is audited when read, or says why not', async () => {
    const schema = await buildGraphqlSchema();
    // The graph names FHIR types after them, but for the pharmacy directory's Organization and the PA's Task.
    const fhirTypeOf: Record<string, string> = { Pharmacy: 'Organization', PriorAuthorization: 'Task' };
    // Read structurally: type-graphql's schema may come from the other (CommonJS) copy of graphql.
    const carriers = Object.values(schema.getTypeMap())
      .filter(
        (type) =>
          !type.name.startsWith('__') &&
          'getFields' in type &&
          String((type.getFields() as Record<string, { type: unknown }>).resource?.type).replace(/[[\]!]/g, '') === 'JSON',
      )
      .map((type) => fhirTypeOf[type.name] ?? type.name);
    expect(carriers).toContain('MedicationRequest');
    const unaudited = carriers.filter(
      (type) => !(type in READS_NOT_AUDITED) && !['read', 'search-type'].every((i) => auditedInteractions(type).has(i as Interaction)),
    );
    expect(unaudited).toEqual([]);
  });

  it('names only use-cases that exist, so a renamed read cannot drop out of the trail', () => {
    expect(Object.keys(READ_AUDITS).filter((name) => !(name in useCases))).toEqual([]);
  });

  it('exempts only types the facade serves (no stale reasons)', () => {
    expect(Object.keys(READS_NOT_AUDITED).filter((type) => !readable.some((r) => r.type === type))).toEqual([]);
  });
});
