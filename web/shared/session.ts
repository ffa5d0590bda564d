// The signed-in bearer token, shared by the explorer and the board (same origin, same storage).

const STORAGE_KEY = 'rxgate.token';

export interface TokenClaims {
  sub?: string;
  tenant?: string;
  persona?: string;
  exp?: number;
}

/** The claims of a JWT, read without verifying it (the gateway verifies; this only labels the page). */
export function claimsOf(token: string): TokenClaims {
  try {
    const payload = token.split('.')[1] ?? '';
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as TokenClaims;
  } catch {
    return {};
  }
}

const expired = (token: string) => {
  const exp = claimsOf(token).exp;
  return exp !== undefined && exp * 1000 <= Date.now();
};

export function storedToken(): string | undefined {
  const token = localStorage.getItem(STORAGE_KEY) ?? undefined;
  return token && !expired(token) ? token : undefined;
}

export function storeToken(token: string | undefined): void {
  if (token) localStorage.setItem(STORAGE_KEY, token);
  else localStorage.removeItem(STORAGE_KEY);
}

/** The gateway's websocket endpoint for GraphQL subscriptions (same host as the page). */
export const graphqlWsUrl = (): string => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;

export class GraphqlError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** One GraphQL operation over HTTP; the first error is thrown with its code. */
export async function graphqlRequest<T>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) throw new GraphqlError(body.errors[0].message, body.errors[0].extensions?.code);
  if (!response.ok || !body.data) throw new GraphqlError(`The gateway answered ${response.status}.`, undefined);
  return body.data;
}
