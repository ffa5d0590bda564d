import type { Page } from '../../application/index.js';

interface HasResource {
  resource: fhir4.FhirResource;
}

/**
 * A `searchset` Bundle (FHIR R4 bundle.html) with absolute links: `self` is the request with its own
 * cursor, `next` the same with the page's opaque `next` cursor.
 */
export function searchsetBundle(options: {
  base: string;
  type: string;
  page: Page<HasResource>;
  /** The request's query parameters, repeated in the links. */
  query: Record<string, unknown>;
  /** The cursor the request came with, if any. */
  cursor: string | undefined;
  /** Resources added by `_include` / `_revinclude`, as entries with `search.mode` `include`. */
  included?: readonly fhir4.FhirResource[];
}): fhir4.Bundle {
  const { base, type, query, page } = options;
  const bundle: fhir4.Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(page.total !== undefined ? { total: page.total } : {}),
    link: [
      { relation: 'self', url: pageUrl(base, type, query, options.cursor) },
      ...(page.nextCursor !== undefined ? [{ relation: 'next', url: pageUrl(base, type, query, page.nextCursor) }] : []),
    ],
    entry: [
      ...options.page.items.map(({ record }) => ({
        fullUrl: `${options.base}/${options.type}/${record.resource.id}`,
        resource: record.resource,
        search: { mode: 'match' as const },
      })),
      ...(options.included ?? []).map((resource) => ({
        fullUrl: `${options.base}/${resource.resourceType}/${resource.id}`,
        resource,
        search: { mode: 'include' as const },
      })),
    ],
  };
  return bundle;
}

/** The request's own URL with `_cursor` replaced, for `self` and `next` links. */
export function pageUrl(base: string, type: string, query: Record<string, unknown>, cursor: string | undefined): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (name === '_cursor') continue;
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) params.append(name, String(v));
  }
  if (cursor !== undefined) params.append('_cursor', cursor);
  const qs = params.toString();
  return `${base}/${type}${qs ? `?${qs}` : ''}`;
}

interface Version {
  versionId: number;
  lastUpdated: Date;
  resource: fhir4.FhirResource;
}

/** A `history` Bundle (FHIR R4 http.html#history), newest version first; `id` absent for type history. */
export function historyBundle(base: string, type: string, id: string | undefined, versions: readonly Version[]): fhir4.Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    link: [{ relation: 'self', url: `${base}/${type}${id ? `/${id}` : ''}/_history` }],
    entry: versions.map((v) => ({
      fullUrl: `${base}/${type}/${v.resource.id}`,
      resource: v.resource,
      request: { method: v.versionId === 1 ? 'POST' : 'PUT', url: v.versionId === 1 ? type : `${type}/${v.resource.id}` },
      response: { status: v.versionId === 1 ? '201 Created' : '200 OK', etag: `W/"${v.versionId}"`, lastModified: v.lastUpdated.toISOString() },
    })),
  };
}
