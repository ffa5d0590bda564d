import { expectValidFhir } from './fhir-schema.js';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch with JSON in and out; the raw text is kept when the body is not JSON. */
export async function request<T = any>(
  url: string,
  init: { method?: string; token?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/fhir+json';
  }
  const response = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  // Everything the FHIR facade answers must be valid FHIR R4 (issue #4): checked on every response.
  if (response.headers.get('content-type')?.includes('application/fhir+json') && (parsed as { resourceType?: unknown })?.resourceType) expectValidFhir(parsed);
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** The rxgate error code of an OperationOutcome (CONTRACT §2). */
export const outcomeCode = (body: any): string | undefined => body?.issue?.[0]?.details?.coding?.find((c: any) => c.system === 'urn:rxgate:error-code')?.code;
