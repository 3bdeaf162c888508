#!/usr/bin/env bash
# The test command of the README: every crate's unit, integration, conformance and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --no-fail-fast
