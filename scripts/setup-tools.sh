#!/usr/bin/env bash
# Tools the tests need besides Rust and git, installed into the workspace (never system-wide):
# a Python venv at .tools/venv with openapi-spec-validator, which checks the generated OpenAPI
# document (tests/server/openapi.rs). Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

VALIDATOR_VERSION="0.9.0"
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
