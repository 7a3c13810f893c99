// One user's app: Apollo Client with the links an Expo app uses, minus React Native.
//
//   refresh (ErrorLink)    -> on UNAUTHENTICATED: one refreshSession for every request waiting
//                             (single flight), then the request is sent again, once
//   auth (SetContextLink)  -> Authorization: Bearer <access token>, and the CSRF preflight header
//   split                  -> subscriptions over graphql-ws (graphql-transport-ws), with the
//                             token in connectionParams; everything else over HTTP
//   UploadHttpLink         -> a GraphQL multipart request when the variables hold a File
//
// The cache knows which types implement UserError (possibleTypes), or `... on UserError` fields
// would vanish from results. It adds __typename to every selection set: the bodies sent are the ones in
// clients/persisted-operations.json, which a gateway in trusted-documents mode requires.
import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { CombinedGraphQLErrors, ServerError } from "@apollo/client/errors";
import { SetContextLink } from "@apollo/client/link/context";
import { ErrorLink } from "@apollo/client/link/error";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";
import { createClient } from "graphql-ws";
import { possibleTypes } from "./possibleTypes.js";
import { from, switchMap } from "rxjs";
import WebSocket from "ws";

export function errorCode(error) {
  if (CombinedGraphQLErrors.is(error)) return error.errors[0]?.extensions?.code ?? null;
  if (ServerError.is(error)) {
    try {
      return JSON.parse(error.bodyText).errors?.[0]?.extensions?.code ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

export function createAppClient({ baseUrl, catalog, name }) {
  const state = { accessToken: null, refreshToken: null, refreshes: 0 };
  let refreshing = null;

  const auth = new SetContextLink((previous) => {
    const token = previous.anonymous ? null : state.accessToken;
    return {
      sentToken: token,
      headers: {
        ...previous.headers,
        // Multipart uploads are not JSON: the gateway's CSRF rule (Apollo's) wants this header.
        "apollo-require-preflight": "true",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    };
  });

  async function refreshOnce(seen) {
    if (state.accessToken !== seen) return state.accessToken !== null; // settled meanwhile
    refreshing ??= (async () => {
      try {
        const { data } = await client.mutate({
          mutation: catalog.document("RefreshSession"),
          variables: { refreshToken: state.refreshToken },
          context: { anonymous: true }, // a stale token would refuse the whole request
        });
        const result = data.refreshSession;
        if (result.__typename !== "RefreshSessionSuccess") {
          state.accessToken = state.refreshToken = null; // signed out: show sign-in
          return false;
        }
        keep(result.session);
        state.refreshes += 1;
        return true;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  const refresh = new ErrorLink(({ error, operation, forward }) => {
    const context = operation.getContext();
    if (errorCode(error) !== "UNAUTHENTICATED" || context.retried || !state.refreshToken) return;
    return from(refreshOnce(context.sentToken)).pipe(
      switchMap((refreshed) => {
        if (!refreshed) throw error;
        operation.setContext({ retried: true });
        return forward(operation);
      }),
    );
  });

  const sockets = createClient({
    url: baseUrl.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    // Read on every (re)connect, so a reconnect after a refresh presents the new token.
    connectionParams: () => ({ authorization: `Bearer ${state.accessToken}` }),
    lazy: true,
    retryAttempts: 5,
  });

  const http = new UploadHttpLink({ uri: `${baseUrl}/graphql` });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(sockets),
    // refresh sits before auth: its retry goes through auth again and so carries the new token.
    ApolloLink.from([refresh, auth, http]),
  );
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache({ possibleTypes: possibleTypes() }),
    defaultOptions: { query: { fetchPolicy: "no-cache" }, watchQuery: { fetchPolicy: "no-cache" } },
  });

  function keep(session) {
    state.accessToken = session.accessToken;
    state.refreshToken = session.refreshToken;
  }

  async function run(operationName, variables = {}) {
    const document = catalog.document(operationName);
    const kind = getMainDefinition(document).operation;
    const { data } =
      kind === "query"
        ? await client.query({ query: document, variables })
        : await client.mutate({ mutation: document, variables });
    return data;
  }

  const subscriptions = [];
  function listen(operationName, variables = {}) {
    const arrived = [];
    const waiting = [];
    let failure = null;
    const deliver = () => {
      while (waiting.length && (arrived.length || failure)) {
        const { resolve, reject, timer } = waiting.shift();
        clearTimeout(timer);
        if (arrived.length) resolve(arrived.shift());
        else reject(failure);
      }
    };
    const subscription = client
      .subscribe({ query: catalog.document(operationName), variables })
      .subscribe({
        next: (result) => {
          if (result.error) failure = result.error;
          else arrived.push(result.data);
          deliver();
        },
        error: (error) => {
          failure = error;
          deliver();
        },
      });
    subscriptions.push(subscription);
    return {
      pending: () => arrived.length,
      next(within = 30_000) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            waiting.splice(waiting.findIndex((w) => w.timer === timer), 1);
            reject(new Error(`${name}: no ${operationName} event within ${within} ms`));
          }, within);
          waiting.push({ resolve, reject, timer });
          deliver();
        });
      },
    };
  }

  async function stop() {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await sockets.dispose();
    client.stop();
  }

  return { state, keep, run, listen, stop, name };
}
