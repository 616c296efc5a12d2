#!/usr/bin/env bash
# Certificates with nothing but curl, poppler and the CLI, on a running Teeka where a dose was
# recorded: the person downloads the PDF, a viewer renders it, `teeka verify` checks the picture
# offline against the published keys and revocation list; the SMART Health Card verifies and a
# tampered one does not; a traveller adds passport details and the EU DCC verifies against the
# published signer certificates.
#
#   TEEKA=target/debug/teeka BASE=http://127.0.0.1:8080 TOKEN=<citizen bearer token> \
#   REFERENCE_ID=12345678901234 DATE_OF_BIRTH=1975-04-01 WORK=/tmp/certificates \
#     scripts/certificate-walkthrough.sh
#
# Needs pdftoppm (poppler-utils). Arguments after the script are ignored: verifying opens no
# database.
set -euo pipefail

teeka=${TEEKA:-teeka}
base=${BASE:-http://127.0.0.1:8080}
# (No apostrophes inside these messages: bash reads them as quotes there.)
: "${TOKEN:?the bearer token of a citizen}" "${REFERENCE_ID:?a reference id with a dose}"
: "${DATE_OF_BIRTH:?a date of birth in the registered year, YYYY-MM-DD}" "${WORK:?a folder to work in}"
mkdir -p "$WORK"

field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
get() { curl -sS --fail-with-body "$base$1" "${@:2}"; }
verify() { # FILE: prints the verdict, returns the exit code
  local code=0
  "$teeka" verify --trust "$WORK/jwks.json" --revoked "$WORK/revoked.json" "$1" || code=$?
  return "$code"
}

echo "== anyone: the issuer's keys, signer certificates and revocation list"
get /.well-known/jwks.json >"$WORK/jwks.json"
get /api/v1/certificates/dsc.pem >"$WORK/dsc.pem"
get /api/v1/certificates/revoked >"$WORK/revoked.json"
grep -q "BEGIN CERTIFICATE" "$WORK/dsc.pem"

echo "== the person downloads the PDF; a viewer renders the page"
get "/api/v2/registration/certificate/public/download?beneficiary_reference_id=$REFERENCE_ID" \
  -H "authorization: Bearer $TOKEN" -o "$WORK/certificate.pdf"
pdftoppm -png -r 150 -singlefile "$WORK/certificate.pdf" "$WORK/page"

echo "== teeka verify reads the QR code off the rendered page, offline"
verify "$WORK/page.png"

echo "== the SMART Health Card verifies; with one digit changed it does not"
payloads=$(get "/api/v2/registration/certificate/public/qr?beneficiary_reference_id=$REFERENCE_ID" \
  -H "authorization: Bearer $TOKEN")
field shc <<<"$payloads" >"$WORK/card.txt"
verify "$WORK/card.txt"
# Change one two-digit pair (one character of the signed text) well inside the card.
card=$(<"$WORK/card.txt")
pair=${card:205:2}
[[ $pair == 10 ]] && other=11 || other=10
printf '%s' "${card:0:205}$other${card:207}" >"$WORK/tampered.txt"
if verify "$WORK/tampered.txt"; then echo "a tampered card verified"; exit 1; fi
echo "tampered card refused"

echo "== a traveller adds passport details; the EU DCC verifies against the signer certificates"
curl -sS --fail-with-body -X POST "$base/api/v2/registration/certificate/travel" \
  -H "authorization: Bearer $TOKEN" -H "content-type: application/json" \
  -d "{\"beneficiary_reference_id\":\"$REFERENCE_ID\",\"surname\":\"Person\",\"given_names\":\"Desk\",\"date_of_birth\":\"$DATE_OF_BIRTH\"}"
payloads=$(get "/api/v2/registration/certificate/public/qr?beneficiary_reference_id=$REFERENCE_ID" \
  -H "authorization: Bearer $TOKEN")
field eu_dcc <<<"$payloads" >"$WORK/dcc.txt"
grep -q "^HC1:" "$WORK/dcc.txt"
"$teeka" verify --trust "$WORK/dsc.pem" "$WORK/dcc.txt"

echo "walk-through complete"
