#!/usr/bin/env bash
# The partner API with nothing but curl and the CLI, on a running Teeka: the operator registers a
# partner from the CLI (its key printed once); the partner asks a citizen for consent by OTP and
# reads only the approved fields, under its own id for each person; the citizen lists the
# consent; the kill switch turns every partner off and back on; the citizen revokes the consent
# and the partner's token stops at once; anyone reads the public statistics.
#
#   TEEKA=target/debug/teeka BASE=http://127.0.0.1:8080 TOKEN=<citizen bearer token> \
#   MOBILE=<that citizen's mobile> OUTBOX=teeka-data/outbox/sms.jsonl \
#     scripts/partner-walkthrough.sh --database-url sqlite://teeka-data/teeka.db --data-dir teeka-data
#
# The arguments after the script go to the CLI commands that open the database. OUTBOX is the
# development SMS log, where the citizen's phone would be: the script reads the OTP there.
set -euo pipefail

teeka=${TEEKA:-teeka}
base=${BASE:-http://127.0.0.1:8080}
: "${TOKEN:?the bearer token of a citizen}" "${MOBILE:?that citizen s mobile}"
: "${OUTBOX:?the development SMS log (outbox/sms.jsonl in the data directory)}"

field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"; }
call() { # METHOD PATH [JSON]; prints the body, then the status on its own line
  local args=(-sS -X "$1" "$base$2" -H "content-type: application/json" -w '\n%{http_code}\n')
  [[ -n ${key:-} ]] && args+=(-H "x-api-key: $key")
  [[ -n ${bearer:-} ]] && args+=(-H "authorization: Bearer $bearer")
  [[ $# -ge 3 ]] && args+=(-d "$3")
  curl "${args[@]}"
}
expect() { # STATUS: the last line of stdin must be it
  local answer; answer=$(cat); echo "$answer"
  [[ $(tail -n1 <<<"$answer") == "$1" ]] || { echo "expected HTTP $1, got: $answer" >&2; exit 1; }
}

echo "== the operator registers a partner (the key is shown once)"
created=$("$teeka" admin partners add --name PayHealth --scopes booking,beneficiary_read \
  --fields name,birth_year,appointments --purpose "Book vaccinations for app users" "$@")
key=$(sed -n 's/^api key: *//p' <<<"$created")
client=$(sed -n 's/^client id: *//p' <<<"$created")
echo "client id $client"

echo "== without the person's consent the partner gets nothing"
call GET /api/v2/appointment/beneficiaries | expect 401

echo "== the partner asks the person: read their members, name and year of birth, 7 days"
ask="{\"mobile\":\"$MOBILE\",\"scopes\":\"beneficiary_read\",\"fields\":\"name,birth_year\",\"days\":7,\"purpose\":\"Show the family vaccination plan\"}"
# One OTP per mobile per 30 seconds: a partner app waits, as this does, if the person just had one.
for _ in $(seq 1 40); do
  sent=$(call POST /api/v2/auth/generateOTP "$ask")
  grep -q TKAOTP0001 <<<"$sent" || break
  sleep 1
done
sent=$(expect 200 <<<"$sent")
txn=$(field txnId <<<"$sent")
otp=""
for _ in $(seq 1 40); do
  otp=$(grep -F "PayHealth asks" "$OUTBOX" 2>/dev/null | tail -n1 | field otp || true)
  [[ -n $otp ]] && break
  sleep 0.25
done
[[ -n $otp ]] || { echo "no consent SMS in $OUTBOX" >&2; exit 1; }
echo "the person's SMS: $(grep -F "PayHealth asks" "$OUTBOX" | tail -n1 | field text)"
confirmed=$(call POST /api/v2/auth/confirmOTP "{\"otp\":\"$(printf %s "$otp" | sha256sum | cut -d' ' -f1)\",\"txnId\":\"$txn\"}" | expect 200)
bearer=$(field token <<<"$confirmed")

echo "== the partner reads the members: its own ids, the approved fields only"
call GET /api/v2/appointment/beneficiaries | expect 200
echo "== booking was not approved"
call POST /api/v2/appointment/schedule '{"dose":1,"session_id":"00000000-0000-0000-0000-000000000000","slot":"09:00AM-11:00AM","beneficiaries":["1"]}' | expect 403
partner_token=$bearer

echo "== the person sees the consent they gave, signed"
consents=$(key="" bearer=$TOKEN call GET /api/v1/citizen/consents | expect 200)
echo "$consents"
consent=$(field consent_id <<<"$consents")

echo "== kill switch: every partner off, in force at once; then explicitly back on"
"$teeka" admin partners disable --all "$@"
call GET /api/v2/appointment/beneficiaries | expect 403
"$teeka" admin partners enable --all "$@"
call GET /api/v2/appointment/beneficiaries | expect 200

echo "== the person revokes the consent: the partner's token stops at once"
key="" bearer=$TOKEN call DELETE "/api/v1/citizen/consents?consent_id=$consent" | expect 204
bearer=$partner_token call GET /api/v2/appointment/beneficiaries | expect 401

echo "== a lookup by mobile does not exist, for anyone"
call GET "/api/v2/beneficiary/findByMobile?mobile=$MOBILE" | expect 410

echo "== public statistics: aggregates only, small counts withheld"
key="" bearer="" call GET /api/v1/reports/public | expect 200
"$teeka" admin partners list "$@"
echo "== walk-through complete"
