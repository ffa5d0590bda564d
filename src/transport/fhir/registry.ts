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
          searchParam: Object.entries(m.searchParams).map(([name, type]) => ({ name, type })),
        })) as fhir4.CapabilityStatementRestResource[],
      },
    ],
  };
}
