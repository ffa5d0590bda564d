import type { FastifyInstance } from 'fastify';
import type { UseCases } from '../../application/index.js';
import { DomainError } from '../../domain/index.js';
import { searchsetBundle } from './bundle.js';
import { fhirBase, lenientHandling, sendFhir, versionHeaders } from './http.js';
import type { FhirResourceModule } from './registry.js';
import { ORGANIZATION_PARAMETERS, parseOrganizationSearch, type QueryParams } from './search-params.js';

const TYPE = 'Organization';

/** The pharmacy directory: read and search only; writes answer 405 (CONTRACT §1). */
export function organizationModule(useCases: UseCases, publicBaseUrl: string | undefined): FhirResourceModule {
  return {
    type: TYPE,
    interactions: ['read', 'search-type'],
    searchParams: ORGANIZATION_PARAMETERS,
    register(app: FastifyInstance) {
      app.get<{ Params: { id: string } }>(`/${TYPE}/:id`, async (request, reply) => {
        const [pharmacy] = await useCases.getPharmaciesByIds([request.params.id]);
        if (!pharmacy) throw new DomainError('NOT_FOUND', `Organization/${request.params.id} does not exist.`);
        const meta = pharmacy.resource.meta;
        return sendFhir(
          versionHeaders(reply, { id: pharmacy.id, versionId: Number(meta?.versionId ?? 1), lastUpdated: new Date(meta?.lastUpdated ?? 0) }),
          200,
          pharmacy.resource,
        );
      });

      app.get(`/${TYPE}`, async (request, reply) => {
        const query = request.query as QueryParams;
        const { name, typeTerm, page } = parseOrganizationSearch(query, lenientHandling(request));
        const result = await useCases.searchPharmacies({ name, typeTerm, ...page });
        const b = fhirBase(request, publicBaseUrl);
        const bundlePage = {
          ...result,
          items: result.items.map(({ record, cursor }) => ({ record: { resource: record.resource as fhir4.FhirResource }, cursor })),
        };
        return sendFhir(
          reply,
          200,
          searchsetBundle({
            base: b,
            type: TYPE,
            page: bundlePage,
            query,
            cursor: page.cursor,
          }),
        );
      });

      const refuse = async () => {
        throw new DomainError('METHOD_NOT_ALLOWED', 'The pharmacy directory is read-only through the API.');
      };
      // Before the body is parsed: the answer is 405 whatever was sent.
      app.post(`/${TYPE}`, { preParsing: refuse }, refuse);
      app.put(`/${TYPE}/:id`, { preParsing: refuse }, refuse);
      app.patch(`/${TYPE}/:id`, { preParsing: refuse }, refuse);
      app.delete(`/${TYPE}/:id`, { preParsing: refuse }, refuse);
    },
  };
}
