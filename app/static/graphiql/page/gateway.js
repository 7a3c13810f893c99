// GraphiQL for the BountyExpo gateway: HTTP for queries and mutations, graphql-ws (the
// graphql-transport-ws protocol) on the same URL for subscriptions, with the Authorization
// header from the headers editor in `connection_init`. Settings come from the page
// (app/graphiql.py), so no inline script is needed under the page's CSP.
(function () {
  "use strict";

  const settings = JSON.parse(document.getElementById("graphiql-settings").textContent);
  const httpUrl = new URL(settings.path, window.location.href);
  const socketUrl = new URL(httpUrl);
  socketUrl.protocol = httpUrl.protocol === "https:" ? "wss:" : "ws:";

  // The headers editor starts with a placeholder token: not sent until it is replaced.
  function sentHeaders(headers) {
    const sent = {};
    for (const [name, value] of Object.entries(headers || {})) {
      if (!(name.toLowerCase() === "authorization" && String(value).includes(settings.tokenPlaceholder))) {
        sent[name] = value;
      }
    }
    return sent;
  }

  function authorizationOf(headers) {
    const name = Object.keys(headers).find((key) => key.toLowerCase() === "authorization");
    return name === undefined ? "" : String(headers[name]);
  }

  function operationType(params) {
    try {
      const document = GraphiQL.GraphQL.parse(params.query);
      const operations = document.definitions.filter((node) => node.kind === "OperationDefinition");
      const chosen = params.operationName
        ? operations.find((node) => node.name && node.name.value === params.operationName)
        : operations[0];
      return chosen ? chosen.operation : null;
    } catch (error) {
      return null; // the server reports the syntax error
    }
  }

  // One socket per distinct Authorization header, opened on the first subscription.
  const sockets = new Map();
  function socketFor(authorization) {
    if (!sockets.has(authorization)) {
      sockets.set(
        authorization,
        graphqlWs.createClient({
          url: socketUrl.toString(),
          lazy: true,
          connectionParams: authorization ? { authorization } : {},
        }),
      );
    }
    return sockets.get(authorization);
  }

  const overHttp = GraphiQL.createFetcher({ url: httpUrl.toString() });

  function fetcher(params, options) {
    const headers = sentHeaders(options && options.headers);
    if (operationType(params) === "subscription") {
      return socketFor(authorizationOf(headers)).iterate(params);
    }
    return overHttp(params, Object.assign({}, options, { headers }));
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultQuery: settings.defaultQuery,
      defaultHeaders: settings.defaultHeaders,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
