#!/usr/bin/env bash
# Tools the tests need besides Rust and git, installed into the workspace (never system-wide):
# a Python venv at .tools/venv with openapi-spec-validator, which checks the generated OpenAPI
# document (tests/server/openapi.rs), and grpcio with its tools, reflection, status and health
# packages, the gRPC client nobody here wrote (crates/grpc/tests), and gql with its requests
# transport, the GraphQL client nobody here wrote (crates/graphql/tests). Idempotent: a second
# run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

VALIDATOR_VERSION="0.9.0"
GRPCIO_VERSION="1.85.1"
venv=".tools/venv"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "setup-tools: $python not found; install Python 3.9 or newer" >&2
  exit 1
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup-tools: creating $venv"
  mkdir -p .tools
  if ! "$python" -m venv "$venv"; then
    echo "setup-tools: '$python -m venv' failed; on Debian/Ubuntu install python3-venv" >&2
    rm -rf "$venv"
    exit 1
  fi
fi

installed="$("$venv/bin/python" -m pip show openapi-spec-validator 2>/dev/null \
  | sed -n "s/^Version: //p" || true)"
if [[ "$installed" != "$VALIDATOR_VERSION" ]]; then
  echo "setup-tools: installing openapi-spec-validator $VALIDATOR_VERSION"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "openapi-spec-validator==$VALIDATOR_VERSION"
fi
"$venv/bin/openapi-spec-validator" --help >/dev/null
echo "setup-tools: $venv/bin/openapi-spec-validator ($VALIDATOR_VERSION) ready"

grpc_installed="$("$venv/bin/python" -m pip show grpcio-tools 2>/dev/null \
  | sed -n "s/^Version: //p" || true)"
if [[ "$grpc_installed" != "$GRPCIO_VERSION" ]]; then
  echo "setup-tools: installing grpcio $GRPCIO_VERSION (tools, reflection, status, health)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "grpcio==$GRPCIO_VERSION" "grpcio-tools==$GRPCIO_VERSION" \
    "grpcio-reflection==$GRPCIO_VERSION" "grpcio-status==$GRPCIO_VERSION" \
    "grpcio-health-checking==$GRPCIO_VERSION"
fi
"$venv/bin/python" -c "import grpc, grpc_tools.protoc, grpc_reflection, grpc_status, grpc_health"
echo "setup-tools: grpcio $GRPCIO_VERSION ready in $venv"

# sonora: a gRPC-Web client for Python, the peer of the gRPC-Web test (crates/grpc/tests).
SONORA_VERSION="0.2.3"
so_installed="$("$venv/bin/python" -m pip show sonora 2>/dev/null | sed -n "s/^Version: //p" || true)"
if [[ "$so_installed" != "$SONORA_VERSION" ]]; then
  echo "setup-tools: installing sonora $SONORA_VERSION"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "sonora==$SONORA_VERSION"
fi
"$venv/bin/python" -c "import sonora.client"
echo "setup-tools: sonora $SONORA_VERSION ready in $venv"

GQL_VERSION="4.4.0"
gql_installed="$("$venv/bin/python" -m pip show gql 2>/dev/null | sed -n "s/^Version: //p" || true)"
if [[ "$gql_installed" != "$GQL_VERSION" ]]; then
  echo "setup-tools: installing gql $GQL_VERSION (requests transport)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "gql[requests]==$GQL_VERSION"
fi
"$venv/bin/python" -c "import gql, gql.transport.requests"
echo "setup-tools: gql $GQL_VERSION ready in $venv"

# schemathesis fuzzes /graphql in its GraphQL mode (crates/graphql/tests/py/fuzz.py) and the
# REST door from /openapi.json (crates/server/tests/py/rest_fuzz.py). hypothesis is pinned too:
# from about 6.150 its internals no longer match what hypothesis-jsonschema 0.23 (schemathesis's
# JSON Schema generator) calls, and every generated body fails with an AttributeError.
SCHEMATHESIS_VERSION="3.39.16"
HYPOTHESIS_VERSION="6.140.0"
st_installed="$("$venv/bin/python" -m pip show schemathesis 2>/dev/null \
  | sed -n "s/^Version: //p" || true)"
hy_installed="$("$venv/bin/python" -m pip show hypothesis 2>/dev/null \
  | sed -n "s/^Version: //p" || true)"
if [[ "$st_installed" != "$SCHEMATHESIS_VERSION" || "$hy_installed" != "$HYPOTHESIS_VERSION" ]]; then
  echo "setup-tools: installing schemathesis $SCHEMATHESIS_VERSION (hypothesis $HYPOTHESIS_VERSION)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
fi
"$venv/bin/python" -c "import schemathesis.graphql"
echo "setup-tools: schemathesis $SCHEMATHESIS_VERSION ready in $venv"

# isomorphic-git from npm: a second Smart HTTP client the tests clone and push with
# (tests/smart_http/clients.rs). Pinned, installed into .tools/node without touching the system.
ISOGIT_VERSION="1.44.19"
node_dir=".tools/node"
if command -v npm >/dev/null 2>&1; then
  have="$(node -e "try{console.log(require('./$node_dir/node_modules/isomorphic-git/package.json').version)}catch(e){}" 2>/dev/null || true)"
  if [[ "$have" != "$ISOGIT_VERSION" ]]; then
    echo "setup-tools: installing isomorphic-git $ISOGIT_VERSION into $node_dir"
    mkdir -p "$node_dir"
    (cd "$node_dir" && [[ -f package.json ]] || echo '{"private":true}' > package.json)
    npm install --silent --no-audit --no-fund --prefix "$node_dir" "isomorphic-git@$ISOGIT_VERSION"
  fi
  echo "setup-tools: isomorphic-git $ISOGIT_VERSION ready in $node_dir"
else
  echo "setup-tools: npm not found; the isomorphic-git test will fail (install nodejs and npm)" >&2
fi

# graphql-ws and graphql-sse from npm: the reference subscription clients of the GraphQL door
# (crates/graphql/tests/graphql/js_clients.rs), with their peers graphql and ws (Node 20 has no
# WebSocket of its own). Pinned, installed into .tools/node beside isomorphic-git.
GRAPHQL_NPM=("graphql@16.15.0" "graphql-ws@6.4.2" "graphql-sse@2.6.1" "ws@8.23.0")
if command -v npm >/dev/null 2>&1; then
  missing=()
  for spec in "${GRAPHQL_NPM[@]}"; do
    name="${spec%@*}"
    want="${spec##*@}"
    have="$(node -e "try{console.log(require('./$node_dir/node_modules/$name/package.json').version)}catch(e){}" 2>/dev/null || true)"
    [[ "$have" == "$want" ]] || missing+=("$spec")
  done
  if (( ${#missing[@]} )); then
    echo "setup-tools: installing ${missing[*]} into $node_dir"
    mkdir -p "$node_dir"
    (cd "$node_dir" && [[ -f package.json ]] || echo '{"private":true}' > package.json)
    npm install --silent --no-audit --no-fund --prefix "$node_dir" "${missing[@]}"
  fi
  echo "setup-tools: ${GRAPHQL_NPM[*]} ready in $node_dir"
else
  echo "setup-tools: npm not found; the graphql-ws and graphql-sse tests will fail" >&2
fi
