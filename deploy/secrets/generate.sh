#!/usr/bin/env bash
# Generate the secrets docker-compose.yml mounts (files under deploy/secrets/, git-ignored, mode 600).
#
#   deploy/secrets/generate.sh --sms-gateway-url https://sms.example.vn/send \
#       --sms-gateway-key-file sms-key.txt [--sms-gateway-name viettel] [--offices 00070.UBND,00070.CA] [--out DIR]
#
# Random values (openssl rand) for: the PII hash key, the SMS receipt secret, the contact sealing key
# (intake and notify), a personal-data encryption key per service, the MongoDB root password and one
# MongoDB user + password per service (each service may use only its own database). Officials' and
# operators' JWTs are verified against the identity provider's JWKS (JWT_JWKS_URL in the environment).
# What cannot be invented is asked for: the SMS gateway (production never uses the file provider, which writes phone
# numbers to disk) and, per office, the result-signing key from the province's signing provider
# (`--offices` generates fresh Ed25519 keys for offices that have none yet, e.g. for a trial).
# Existing files are kept, so a re-run never rotates a secret by accident; delete a file to rotate it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE"
SMS_URL="" SMS_KEY_FILE="" SMS_NAME="gateway" OFFICES=""
SERVICES=(intake routing resolution notify)

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "generate.sh: $*" >&2; exit 2; }

while (($#)); do
  case "$1" in
    --sms-gateway-url) SMS_URL="$2"; shift 2 ;;
    --sms-gateway-key-file) SMS_KEY_FILE="$2"; shift 2 ;;
    --sms-gateway-name) SMS_NAME="$2"; shift 2 ;;
    --offices) OFFICES="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "generate.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

command -v openssl >/dev/null || die "openssl is needed"
umask 077
mkdir -p "$OUT"

random() { openssl rand -hex 32; }
# write_once FILE VALUE: create FILE with VALUE unless it exists (no trailing newline: the file is the value)
write_once() { [[ -s "$1" ]] || printf '%s' "$2" >"$1"; }

write_once "$OUT/PII_HASH_KEY" "$(random)"
write_once "$OUT/NOTIFY_RECEIPT_SECRET" "$(random)"
write_once "$OUT/CONTACT_SEALING_KEY" "$(random)"
write_once "$OUT/mongo_root_password" "$(random)"
for svc in "${SERVICES[@]}"; do
  mkdir -p "$OUT/$svc"
  write_once "$OUT/$svc/mongodb_password" "$(random)"
  write_once "$OUT/$svc/PII_ENCRYPTION_KEY" "$(random)"  # used by intake and notify (personal data at rest)
  # the service's connection string: its own user, authenticated against its own database
  write_once "$OUT/$svc/MONGODB_URL" \
    "mongodb://lienthong_$svc:$(cat "$OUT/$svc/mongodb_password")@mongo:27017/lienthong_$svc?authSource=lienthong_$svc"
done

if [[ ! -s "$OUT/NOTIFY_SMS_PROVIDERS" ]]; then
  [[ -n "$SMS_URL" ]] || die "--sms-gateway-url URL is needed (production sends SMS through a gateway, never to a file)"
  [[ "$SMS_URL" == https://* ]] || die "--sms-gateway-url must be https://"
  key=""
  if [[ -n "$SMS_KEY_FILE" ]]; then key="$(tr -d '\r\n' <"$SMS_KEY_FILE")"; fi
  # JSON by hand: the values are a URL, a name and a key without quotes (checked)
  for v in "$SMS_URL" "$SMS_NAME" "$key"; do [[ "$v" != *'"'* && "$v" != *'\'* ]] || die "quotes or backslashes in SMS settings"; done
  if [[ -n "$key" ]]; then
    printf '[{"name":"%s","kind":"http","url":"%s","api_key":"%s","priority":1,"receipts":true}]' \
      "$SMS_NAME" "$SMS_URL" "$key" >"$OUT/NOTIFY_SMS_PROVIDERS"
  else
    printf '[{"name":"%s","kind":"http","url":"%s","priority":1,"receipts":true}]' "$SMS_NAME" "$SMS_URL" \
      >"$OUT/NOTIFY_SMS_PROVIDERS"
  fi
fi

mkdir -p "$OUT/signing-keys"
IFS=',' read -r -a office_list <<<"$OFFICES"
for office in "${office_list[@]}"; do
  [[ -n "$office" ]] || continue
  [[ "$office" =~ ^P?[0-9]+\.[A-Z]+$ ]] || die "not an office code: $office"
  [[ -s "$OUT/signing-keys/$office.pem" ]] || openssl genpkey -algorithm ed25519 -out "$OUT/signing-keys/$office.pem"
done

echo "secrets ready in $OUT (keep them out of git; docker compose mounts them under /run/secrets)"
