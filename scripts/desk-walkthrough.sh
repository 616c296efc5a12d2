#!/usr/bin/env bash
# The vaccination desk with nothing but curl, from an account the CLI creates: sign in with the
# temporary password and an authenticator code, change the password, see today's list, check a
# person in with their reference id and 4-digit code, record the dose, report an adverse event.
#
#   TEEKA=target/debug/teeka BASE=http://127.0.0.1:8080 CENTRE=1 \
#   REFERENCE_ID=12345678901234 CODE=1234 VACCINE=COVISHIELD \
#     scripts/desk-walkthrough.sh --database-url sqlite://teeka-data/teeka.db --data-dir teeka-data
#
# The arguments after the script go to `teeka admin create-user` (which database, which keys).
# `teeka admin totp-code` stands in for an authenticator app.
set -euo pipefail

teeka=${TEEKA:-teeka}
base=${BASE:-http://127.0.0.1:8080}
# (No apostrophes inside these messages: bash reads them as quotes there.)
: "${CENTRE:?the centre id}" "${REFERENCE_ID:?the reference id of the person}" "${CODE:?the 4-digit code of the person}"
vaccine=${VACCINE:-COVISHIELD}
user=${DESK_USER:-desk.$$}

field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"; }
call() { # METHOD PATH [JSON]
  local args=(-sS --fail-with-body -X "$1" "$base$2" -H "content-type: application/json")
  [[ -n ${token:-} ]] && args+=(-H "authorization: Bearer $token")
  [[ $# -ge 3 ]] && args+=(-d "$3")
  curl "${args[@]}"
}

echo "== create the account (the CLI prints the enrolment once)"
created=$("$teeka" admin create-user --username "$user" --role vaccinator --centre "$CENTRE" "$@")
password=$(sed -n 's/^temporary password: *//p' <<<"$created")
uri=$(sed -n 's/^authenticator: *//p' <<<"$created")
echo "$user, enrolment ${uri%%\?*}?secret=…"

echo "== sign in with the password and the authenticator code (enrolled from the URI)"
answer=$(call POST /api/v1/staff/login "{\"username\":\"$user\",\"password\":\"$password\",\"totp\":\"$("$teeka" admin totp-code "$uri")\"}")
token=$(field token <<<"$answer")
echo "$answer" | sed 's/"token":"[^"]*"/"token":"…"/'

echo "== change the temporary password"
new_password="desk $(od -An -N8 -tx8 /dev/urandom | tr -d ' \n') lantern"
call POST /api/v1/staff/password "{\"current\":\"$password\",\"new\":\"$new_password\"}"
call GET /api/v1/staff/me; echo

echo "== today's appointments at my centre (masked)"
call GET /api/v1/desk/today; echo

echo "== check in with the reference id and the person's code"
call POST /api/v1/desk/checkin "{\"beneficiary_reference_id\":\"$REFERENCE_ID\",\"code\":\"$CODE\"}"; echo

echo "== record the dose"
answer=$(call POST /api/v1/desk/dose "{\"beneficiary_reference_id\":\"$REFERENCE_ID\",\"vaccine\":\"$vaccine\",\"batch\":\"4121Z025\",\"dose_number\":1}")
echo "$answer"
dose_id=$(field dose_id <<<"$answer")

echo "== report an adverse event against it"
call POST /api/v1/desk/aefi "{\"dose_id\":\"$dose_id\",\"severity\":\"minor\",\"symptoms\":[\"fever\"],\"onset_minutes_after_dose\":20}"; echo

call POST /api/v1/staff/logout
echo "== walk-through complete"
