#!/usr/bin/env bash
# The access ledger with nothing but curl and the CLI, on a running Teeka: a witness takes a
# checkpoint, anyone fetches the checkpoint, key and proofs, a citizen reads one person's access
# history, an auditor (created by the CLI) asks for the breach report of one member of staff, the
# witness checks the grown log is consistent with what it saw, and the whole ledger verifies
# against the witness's copy.
#
#   TEEKA=target/debug/teeka BASE=http://127.0.0.1:8080 TOKEN=<citizen bearer token> \
#   REFERENCE_ID=12345678901234 ACTOR=<staff sign-in name> STATE=witness.json \
#     scripts/ledger-walkthrough.sh --database-url sqlite://teeka-data/teeka.db --data-dir teeka-data
#
# The arguments after the script go to the CLI commands that open the database (which database,
# which keys). `teeka admin totp-code` stands in for the auditor's authenticator app.
set -euo pipefail

teeka=${TEEKA:-teeka}
base=${BASE:-http://127.0.0.1:8080}
# (No apostrophes inside these messages: bash reads them as quotes there.)
: "${TOKEN:?the bearer token of a citizen}" "${REFERENCE_ID:?a reference id of that citizen}"
: "${ACTOR:?the staff sign-in name to report on}" "${STATE:?the state file of the witness}"
auditor=${AUDITOR_USER:-auditor.$$}
from=$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d '1 hour' +%Y-%m-%dT%H:%M:%SZ)

field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"; }
call() { # METHOD PATH [JSON]
  local args=(-sS --fail-with-body -X "$1" "$base$2" -H "content-type: application/json")
  [[ -n ${bearer:-} ]] && args+=(-H "authorization: Bearer $bearer")
  [[ $# -ge 3 ]] && args+=(-d "$3")
  curl "${args[@]}"
}

echo "== a witness takes its first checkpoint (and pins the log's key)"
"$teeka" ledger witness --url "$base" --state "$STATE"

echo "== the public checkpoint, the key to check it with, and proofs"
checkpoint=$(call GET /api/v1/ledger/checkpoint)
echo "$checkpoint"
size=$(sed -n 2p <<<"$checkpoint")
call GET /api/v1/ledger/key; echo
call GET "/api/v1/ledger/proof/inclusion?seq=1&tree_size=$size"; echo
call GET "/api/v1/ledger/proof/consistency?first=1&second=$size"; echo

echo "== the citizen: every access to one person, each with its inclusion proof"
bearer=$TOKEN call GET "/api/v1/citizen/access-history?beneficiary_reference_id=$REFERENCE_ID"; echo

echo "== an auditor signs in (password, authenticator code, new password)"
created=$("$teeka" admin create-user --username "$auditor" --role auditor "$@")
password=$(sed -n 's/^temporary password: *//p' <<<"$created")
uri=$(sed -n 's/^authenticator: *//p' <<<"$created")
answer=$(call POST /api/v1/staff/login "{\"username\":\"$auditor\",\"password\":\"$password\",\"totp\":\"$("$teeka" admin totp-code "$uri")\"}")
bearer=$(field token <<<"$answer")
call POST /api/v1/staff/password "{\"current\":\"$password\",\"new\":\"audit $(od -An -N8 -tx8 /dev/urandom | tr -d ' \n') ledger\"}"

echo "== the breach report for $ACTOR over the last day, with notices to the people affected"
call POST /api/v1/admin/ledger/breach-report "{\"actor\":\"$ACTOR\",\"from\":\"$from\",\"to\":\"$to\",\"notify\":true}"; echo
call POST /api/v1/staff/logout
unset bearer

echo "== the witness again: the log grew, and the new checkpoint extends the one it kept"
"$teeka" ledger witness --url "$base" --state "$STATE"

echo "== the whole ledger, recomputed from storage and checked against the witness's copy"
"$teeka" ledger verify --checkpoint "$STATE" "$@"

echo "== the same report from the shell, with its CSV for the regulator"
"$teeka" ledger report --actor "$ACTOR" --from "$from" --to "$to" "$@"
echo "== walk-through complete"
