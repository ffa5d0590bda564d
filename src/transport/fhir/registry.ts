import type { FastifyInstance } from 'fastify';

export type Interaction = 'create' | 'read' | 'vread' | 'update' | 'patch' | 'search-type' | 'history-instance' | 'history-type';

/**
 * One resource endpoint of the facade. The same list registers the routes and generates the
 * CapabilityStatement, so the statement cannot claim what is not served.
 */
export interface FhirResourceModule {
  type: string;
  interactions: Interaction[];
  /** Search parameter name → FHIR search parameter type. */
  searchParams: Record<string, string>;
  /** Whether create honours `If-None-Exist`. */
  conditionalCreate?: boolean;
  /** `_include` / `_revinclude` values the search accepts. */
  includes?: { _include: string[]; _revinclude: string[] };
  register(app: FastifyInstance): void;
}

export function capabilityStatement(modules: readonly FhirResourceModule[], version: string): fhir4.CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    kind: 'instance',
    software: { name: 'rxgate', version },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: { description: 'Bearer JWT (HS256, or RS256/ES256 via JWKS) carrying tenant and persona claims.' },
        resource: modules.map((m) => ({
          type: m.type,
          interaction: m.interactions.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: m.interactions.includes('vread'),
          updateCreate: false,
          conditionalCreate: m.conditionalCreate ?? false,
          conditionalUpdate: false,
          searchParam: Object.entries(m.searchParams).map(([name, type]) => ({ name, type })),
          ...(m.includes ? { searchInclude: m.includes._include, searchRevInclude: m.includes._revinclude } : {}),
        })) as fhir4.CapabilityStatementRestResource[],
      },
    ],
  };
}
