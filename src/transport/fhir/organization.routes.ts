import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/index.js';
import type { UseCases } from '../../application/index.js';
import { pageUrl } from './bundle.js';
import { fhirBase, lenientHandling, sendFhir, versionHeaders } from './http.js';
import type { FhirResourceModule } from './registry.js';
import { DEFAULT_COUNT, type QueryParams } from './search-params.js';

const TYPE = 'Organization';

/** The pharmacy directory: read and search only; writes answer 405 (CONTRACT §1). */
export function organizationModule(useCases: UseCases, publicBaseUrl: string | undefined): FhirResourceModule {
  return {
    type: TYPE,
    interactions: ['read', 'search-type'],
    searchParams: { name: 'string' },
    register(app: FastifyInstance) {
      app.get<{ Params: { id: string } }>(`/${TYPE}/:id`, async (request, reply) => {
        const [pharmacy] = await useCases.getPharmaciesByIds([request.params.id]);
        if (!pharmacy) throw new DomainError('NOT_FOUND', `Organization/${request.params.id} does not exist.`);
        const meta = pharmacy.resource.meta;
        return sendFhir(versionHeaders(reply, { id: pharmacy.id, versionId: Number(meta?.versionId ?? 1), lastUpdated: new Date(meta?.lastUpdated ?? 0) }), 200, pharmacy.resource);
      });

      app.get(`/${TYPE}`, async (request, reply) => {
        const query = request.query as QueryParams;
        let name: string | undefined;
        let count = DEFAULT_COUNT;
        for (const [param, value] of Object.entries(query)) {
          if (param === 'name' && typeof value === 'string') name = value;
          else if (param === '_count' && typeof value === 'string' && /^\d+$/.test(value)) count = Number(value);
          else if (param === '_format' || param === '_pretty') continue;
          else if (!lenientHandling(request)) throw new DomainError('BAD_REQUEST', `Unknown or repeated search parameter '${param}' for Organization.`);
        }
        const pharmacies = await useCases.searchPharmacies({ name, limit: count });
        const base = fhirBase(request, publicBaseUrl);
        return sendFhir(reply, 200, {
          resourceType: 'Bundle',
          type: 'searchset',
          link: [{ relation: 'self', url: pageUrl(base, TYPE, query, undefined) }],
          entry: pharmacies.map((p) => ({ fullUrl: `${base}/${TYPE}/${p.id}`, resource: p.resource, search: { mode: 'match' } })),
        });
      });

      const refuse = async () => {
        throw new DomainError('METHOD_NOT_ALLOWED', 'The pharmacy directory is read-only through the API.');
      };
      app.post(`/${TYPE}`, refuse);
      app.put(`/${TYPE}/:id`, refuse);
      app.patch(`/${TYPE}/:id`, refuse);
      app.delete(`/${TYPE}/:id`, refuse);
    },
  };
}
