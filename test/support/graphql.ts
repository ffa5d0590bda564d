import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { send } from './http.js';

export interface GraphqlResponse<T> {
  status: number;
  data?: T | null;
  errors?: Array<{
    message: string;
    path?: Array<string | number>;
    extensions?: { code?: string; issues?: Array<{ expression?: string }> } & Record<string, unknown>;
  }>;
}

/** Sends a typed operation (from codegen) over HTTP, as an EHR UI would. */
export async function graphql<TData, TVars>(
  url: string,
  document: TypedDocumentNode<TData, TVars>,
  variables: TVars,
  token?: string,
): Promise<GraphqlResponse<TData>> {
  return rawGraphql<TData>(url, { query: print(document), variables }, token);
}

export async function rawGraphql<TData = any>(
  url: string,
  body: unknown,
  token?: string,
  headers: Record<string, string> = {},
): Promise<GraphqlResponse<TData>> {
  const response = await send(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  const json = JSON.parse(response.text) as Omit<GraphqlResponse<TData>, 'status'>;
  return { status: response.status, ...json };
}

export const errorCodes = (response: GraphqlResponse<unknown>): Array<string | undefined> => (response.errors ?? []).map((e) => e.extensions?.code);
