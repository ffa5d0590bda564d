import http from 'node:http';
import { expectValidFhir } from './fhir-schema.js';

/** Connections kept open between requests, as a browser or an EHR's HTTP client keeps them. */
const agent = new http.Agent({ keepAlive: true });

export interface TextResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * One HTTP exchange over node:http on a kept-alive connection, the body read to its end (so the
 * connection is free for the next request). The tests' client: fetch costs several times its CPU
 * per request (web streams) and, when a body is left unread, a new connection for the next one.
 * Sends what fetch sends by default that the gateway reads: an Accept of every media type, and a
 * string body without a content type as `text/plain;charset=UTF-8`.
 */
export function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<TextResponse> {
  const headers: Record<string, string> = { ...init.headers };
  const has = (name: string) => Object.keys(headers).some((key) => key.toLowerCase() === name);
  if (!has('accept')) headers.accept = '*/*';
  if (init.body !== undefined) {
    if (!has('content-type')) headers['content-type'] = 'text/plain;charset=UTF-8';
    headers['content-length'] = String(Buffer.byteLength(init.body));
  }
  return new Promise((resolve, reject) => {
    const outgoing = http.request(url, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => {
        const answered = new Headers();
        for (let i = 0; i < response.rawHeaders.length; i += 2) answered.append(response.rawHeaders[i], response.rawHeaders[i + 1]);
        resolve({ status: response.statusCode!, headers: answered, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    outgoing.once('error', reject);
    outgoing.end(init.body);
  });
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** HTTP with JSON in and out; the raw text is kept when the body is not JSON. */
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
  const response = await send(url, { method: init.method, headers, body });
  const text = response.text;
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
