#!/usr/bin/env bash
# The test command of the README: every crate's unit, integration, conformance and doc tests.
# Tools first (the OpenAPI validator the server tests run, grpcio for the gRPC door's tests), so
# a fresh checkout passes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-tools.sh
exec cargo test --workspace --no-fail-fast
