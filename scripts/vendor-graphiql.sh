#!/usr/bin/env bash
# Vendors the GraphiQL playground's assets into crates/playground/assets: GraphiQL, React and
# React DOM from npm at pinned versions, GraphiQL minified with esbuild, every file gzipped
# (the server sends them with `Content-Encoding: gzip`), beside the packages' licenses.
# gitapi must serve its playground with no internet access, so the files live in the binary;
# run this only to move to other versions, and commit what it writes.
set -euo pipefail
cd "$(dirname "$0")/.."

GRAPHIQL_VERSION="3.8.3"
REACT_VERSION="18.3.1"
GRAPHQL_VERSION="16.11.0"
ESBUILD_VERSION="0.24.2"
out="crates/playground/assets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && echo '{"private":true}' > package.json &&
  npm install --silent --no-audit --no-fund \
    "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" \
    "graphql@$GRAPHQL_VERSION" "esbuild@$ESBUILD_VERSION")
nm="$work/node_modules"
"$nm/.bin/esbuild" "$nm/graphiql/graphiql.min.js" --minify --log-level=warning \
  --outfile="$work/graphiql.js"
"$nm/.bin/esbuild" "$nm/graphiql/graphiql.min.css" --minify --log-level=warning \
  --outfile="$work/graphiql.css"
cp "$nm/react/umd/react.production.min.js" "$work/react.js"
cp "$nm/react-dom/umd/react-dom.production.min.js" "$work/react-dom.js"

mkdir -p "$out/licenses"
for f in graphiql.js graphiql.css react.js react-dom.js; do
  gzip -9 -n -c "$work/$f" > "$out/$f.gz"
done
cp "$nm/graphiql/LICENSE" "$out/licenses/graphiql.LICENSE"
cp "$nm/react/LICENSE" "$out/licenses/react.LICENSE"
cp "$nm/react-dom/LICENSE" "$out/licenses/react-dom.LICENSE"
cat > "$out/VERSIONS" <<VERSIONS
graphiql $GRAPHIQL_VERSION (minified with esbuild $ESBUILD_VERSION)
react $REACT_VERSION
react-dom $REACT_VERSION
VERSIONS
ls -l "$out"
