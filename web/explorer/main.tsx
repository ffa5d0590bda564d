// GraphiQL, bundled with the gateway: queries and mutations over HTTP, subscriptions over graphql-ws,
// the bearer token in the headers editor (filled by "sign in as" where the gateway offers it).
import 'graphiql/style.css';
import '../shared/page.css';
import './explorer.css';
import { GraphiQL, type GraphiQLProps } from 'graphiql';
import { getOperationAST, parse } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { graphqlWsUrl } from '../shared/session';
import { mountSignIn } from '../shared/sign-in';

type Fetcher = GraphiQLProps['fetcher'];

const DEFAULT_QUERY = `# rxgate GraphQL explorer. Sign in above (or put a bearer token in Headers), then run with Ctrl-Enter.
# The Docs button on the left shows the schema; subscriptions run over graphql-ws.
query Prescriptions {
  medicationRequests(first: 10) {
    totalCount
    edges {
      node {
        id
        workflowStatus
        medication { text }
        subject { reference }
        transitions { event from to actor reason at }
      }
    }
  }
}

# subscription Live {
#   prescriptionEvents { sequence type event from to medicationRequest { id workflowStatus } }
# }
`;

const isSubscription = (query: string, operationName?: string | null): boolean => {
  try {
    return getOperationAST(parse(query), operationName ?? undefined)?.operation === 'subscription';
  } catch {
    return false; // the gateway reports the syntax error
  }
};

const authorizationOf = (headers: Record<string, unknown> | undefined): string | undefined => {
  const entry = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'authorization');
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
};

/** A websocket per authorization: the token travels in connectionParams (CONTRACT §1). */
const sockets = new Map<string, Client>();
const socketFor = (authorization: string | undefined): Client => {
  const key = authorization ?? '';
  let client = sockets.get(key);
  if (!client) {
    client = createClient({ url: graphqlWsUrl(), connectionParams: authorization ? { authorization } : {}, lazy: true, retryAttempts: 3 });
    sockets.set(key, client);
  }
  return client;
};

/**
 * The signed-in token applies unless the headers editor names another Authorization: GraphiQL fetches
 * the schema on sign-in before its headers editor shows the new token.
 */
const makeFetcher =
  (token: string | undefined): Fetcher =>
  async (params, options) => {
    const edited = (options?.headers ?? {}) as Record<string, string>;
    const headers = authorizationOf(edited) || !token ? edited : { ...edited, Authorization: `Bearer ${token}` };
    if (isSubscription(params.query, params.operationName)) {
      return socketFor(authorizationOf(headers)).iterate({
        query: params.query,
        variables: params.variables ?? undefined,
        operationName: params.operationName ?? undefined,
      });
    }
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
      body: JSON.stringify(params),
    });
    return response.json();
  };

function Explorer({ token }: { token: string | undefined }) {
  const headers = useMemo(() => JSON.stringify(token ? { Authorization: `Bearer ${token}` } : {}, null, 2), [token]);
  // A new fetcher on sign-in makes GraphiQL fetch the schema again, now authenticated.
  const fetcher = useMemo(() => makeFetcher(token), [token]);
  return (
    <GraphiQL
      fetcher={fetcher}
      headers={headers}
      defaultQuery={DEFAULT_QUERY}
      defaultEditorToolsVisibility="headers"
      isHeadersEditorEnabled
      shouldPersistHeaders={false}
      defaultTheme="light"
    />
  );
}

const root = createRoot(document.getElementById('graphiql')!);
const render = (token: string | undefined) => root.render(<Explorer token={token} />);
void mountSignIn(document.getElementById('sign-in')!, render);
