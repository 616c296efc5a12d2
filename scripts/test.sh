#!/usr/bin/env bash
# Runs Teeka's whole test suite against SQLite and a real PostgreSQL that scripts/with-postgres.sh
# starts (installing it first on a fresh machine) and removes afterwards. The certificate tests
# render PDFs with poppler (pdftoppm, pdftotext), as a person's viewer would: installed here when
# missing. --no-fail-fast: one failing suite still lets the others run, so a CI log shows every
# failure at once rather than the first.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pdftoppm >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
  echo "== poppler-utils not found; installing it"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq poppler-utils >/dev/null
fi
exec ./scripts/with-postgres.sh sh -c 'echo "== cargo test (SQLite and PostgreSQL)"; exec cargo test --workspace --locked --no-fail-fast "$@"' sh "$@"
