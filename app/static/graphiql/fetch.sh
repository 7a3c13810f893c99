#!/usr/bin/env bash
# Fetches the GraphiQL that the gateway serves (app/graphiql.py), from the npm registry, into
# app/static/graphiql/<GraphiQL version>/: the UMD builds GraphiQL's CDN example uses, minus the
# CDN. Run it once per bump and commit the result; nothing is downloaded at build or run time.
#
# To bump: change the versions below (React stays on 18: React 19 ships no UMD build, and
# GraphiQL 5 is ESM with Monaco web workers), run `bash app/static/graphiql/fetch.sh`, set
# GRAPHIQL_VERSION in app/graphiql.py, delete the old folder, and run
# tests/app/test_graphiql.py (the browser test loads every file).
set -euo pipefail

GRAPHIQL=4.1.2            # graphiql (bundles @graphiql/react, CodeMirror and graphql)
EXPLORER=4.0.6            # @graphiql/plugin-explorer, for @graphiql/react 0.34
GRAPHIQL_EXPLORER=0.9.0   # graphiql-explorer, bundled into the plugin (license only)
REACT=18.3.1              # react and react-dom
GRAPHQL_WS=6.4.2          # graphql-ws, the subscription client

here="$(cd "$(dirname "$0")" && pwd)"
target="$here/$GRAPHIQL"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

unpack() {  # unpack NAME@VERSION into $work/NAME
  local spec="$1" name="${1%@*}"
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$work/$name"
  tar xzf "$work"/$(echo "${name#@}" | tr '/' '-')-"${spec##*@}".tgz -C "$work/$name" --strip-components=1
}

unpack "graphiql@$GRAPHIQL"
unpack "@graphiql/plugin-explorer@$EXPLORER"
unpack "graphiql-explorer@$GRAPHIQL_EXPLORER"
unpack "react@$REACT"
unpack "react-dom@$REACT"
unpack "graphql-ws@$GRAPHQL_WS"

rm -rf "$target"
mkdir -p "$target"
cp "$work/graphiql/graphiql.min.js" "$work/graphiql/graphiql.min.css" "$target/"
cp "$work/graphiql/LICENSE" "$target/LICENSE.graphiql"
cp "$work/@graphiql/plugin-explorer/dist/index.umd.js" "$target/plugin-explorer.umd.js"
cp "$work/@graphiql/plugin-explorer/dist/style.css" "$target/plugin-explorer.css"
# The plugin's package has no license file: it is MIT in GraphiQL's monorepo (same LICENSE).
cp "$work/graphiql/LICENSE" "$target/LICENSE.plugin-explorer"
cp "$work/graphiql-explorer/LICENSE" "$target/LICENSE.graphiql-explorer"
cp "$work/react/umd/react.production.min.js" "$target/"
cp "$work/react/LICENSE" "$target/LICENSE.react"
cp "$work/react-dom/umd/react-dom.production.min.js" "$target/"
cp "$work/react-dom/LICENSE" "$target/LICENSE.react-dom"
cp "$work/graphql-ws/umd/graphql-ws.min.js" "$target/"
cp "$work/graphql-ws/LICENSE.md" "$target/LICENSE.graphql-ws"

{
  echo "graphiql $GRAPHIQL"
  echo "@graphiql/plugin-explorer $EXPLORER (bundles graphiql-explorer $GRAPHIQL_EXPLORER)"
  echo "react $REACT"
  echo "react-dom $REACT"
  echo "graphql-ws $GRAPHQL_WS"
} > "$target/VERSIONS"
(cd "$target" && sha256sum -- *.js *.css > SHA256SUMS)
echo "fetched into $target"
