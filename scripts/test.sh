#!/usr/bin/env bash
# Runs Teeka's whole test suite against SQLite and a real PostgreSQL that scripts/with-postgres.sh
# starts (installing it first on a fresh machine) and removes afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./scripts/with-postgres.sh sh -c 'echo "== cargo test (SQLite and PostgreSQL)"; exec cargo test --workspace --locked "$@"' sh "$@"
