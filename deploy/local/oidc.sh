#!/usr/bin/env bash
# Local OpenID Connect provider for the citizens' login (VNeID stands in): Dex, built once from the Go module
# proxy into $LIENTHONG_CACHE, run as a plain background process with in-memory storage, one static client
# (intake's citizen portal) and the static test citizens of dex/citizens.yaml.
#
#   oidc.sh install              build once into $LIENTHONG_CACHE/dex-<version> (reused when present)
#   oidc.sh up | down | status   start (waits until the discovery document answers) / stop / show
#
# Environment (all optional):
#   LIENTHONG_CACHE    build cache                                 default ~/.cache/lienthong
#   LIENTHONG_DATA     config, pid file and log (under dex/)       default <repo>/.data/infra
#   DEX_PORT           HTTP port of the provider                   default 5556 (issuer http://127.0.0.1:5556/dex)
#   CITIZEN_OIDC_CLIENT_ID / CITIZEN_OIDC_CLIENT_SECRET            the static client (development values)
#   CITIZEN_OIDC_REDIRECT_URL   the portal's callback              default http://127.0.0.1:${INTAKE_PORT:-8001}/citizen/callback
#   DEX_EXTRA_REDIRECT_URIS     more allowed callbacks, comma-separated (tests run intake on other ports)
#   CITIZEN_OIDC_ISSUER  non-empty: the provider is external (nothing is built, started or stopped)
#   LIENTHONG_INFRA_TIMEOUT      seconds to wait for readiness (90)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# Dex publishes no Go-module version tags of its own path (its v2 tags lack a /v2 module path), so the proxy
# knows it by pseudo-version: this one is the upstream commit ab64ed778070 (2026-08-06).
DEX_VERSION=v0.0.0-20260806151424-ab64ed778070
CACHE="${LIENTHONG_CACHE:-$HOME/.cache/lienthong}"
DATA="${LIENTHONG_DATA:-$REPO/.data/infra}"
DEX_PORT="${DEX_PORT:-5556}"
DEX_HOME="$CACHE/dex-$DEX_VERSION"
DEX_BIN="$DEX_HOME/dex"
READY_TIMEOUT="${LIENTHONG_INFRA_TIMEOUT:-90}"
CLIENT_ID="${CITIZEN_OIDC_CLIENT_ID:-lienthong-portal}"
CLIENT_SECRET="${CITIZEN_OIDC_CLIENT_SECRET:-development-only-oidc-client-secret}"
REDIRECT_URL="${CITIZEN_OIDC_REDIRECT_URL:-http://127.0.0.1:${INTAKE_PORT:-8001}/citizen/callback}"

say() { echo "[oidc] $*"; }
die() { echo "[oidc] error: $*" >&2; exit 1; }
external() { [[ -n "${CITIZEN_OIDC_ISSUER:-}" ]]; }

mkdir -p "$CACHE" "$DATA"
DATA="$(cd "$DATA" && pwd)"
RUN="$DATA/dex"
PID_FILE="$RUN/dex.pid"
LOG_FILE="$RUN/dex.log"
CONFIG="$RUN/config.yaml"
ISSUER="http://127.0.0.1:$DEX_PORT/dex"

sources_hash() { (cd "$HERE/dex" && cat go.mod go.sum tools.go apiserver_stub.go.txt) | sha256sum | cut -c1-16; }

install() {
  local want; want=$(sources_hash)
  if [[ -x $DEX_BIN && -f $DEX_HOME/.complete && "$(cat "$DEX_HOME/.complete")" == "$want" ]]; then return 0; fi
  command -v go >/dev/null || die "go is required to build Dex (or set CITIZEN_OIDC_ISSUER to an external provider)"
  say "building Dex $DEX_VERSION from the Go module proxy into $DEX_HOME (once, 2-4 min)"
  local tmp; tmp=$(mktemp -d "$CACHE/.dex-$DEX_VERSION.XXXXXX"); chmod 755 "$tmp"
  # The module comes from the proxy, checked against dex/go.sum by the go command itself.
  local src
  src=$(cd "$HERE/dex" && GOFLAGS=-mod=mod go mod download -json "github.com/dexidp/dex@$DEX_VERSION" \
    | "${PYTHON:-python3}" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') \
    || { rm -rf "$tmp"; die "could not download github.com/dexidp/dex@$DEX_VERSION from the Go module proxy"; }
  # Dex's gRPC management API needs github.com/dexidp/dex/api/v2 from Dex's own tree, newer than any version
  # on the proxy: a copy of the module with that one package replaced by a stub (the API stays disabled).
  cp -r "$src" "$tmp/dex-src"; chmod -R u+w "$tmp/dex-src"
  rm -f "$tmp/dex-src"/server/apiserver/*.go
  cp "$HERE/dex/apiserver_stub.go.txt" "$tmp/dex-src/server/apiserver/lienthong_stub.go"
  mkdir "$tmp/build"; cp "$HERE/dex/go.mod" "$HERE/dex/go.sum" "$HERE/dex/tools.go" "$tmp/build/"
  if ! (cd "$tmp/build" && go mod edit -replace "github.com/dexidp/dex=$tmp/dex-src" \
      && GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 go build -trimpath -o "$tmp/dex" github.com/dexidp/dex/cmd/dex) \
      >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2; rm -rf "$tmp"; die "go build of Dex $DEX_VERSION failed"
  fi
  rm -rf "$tmp/dex-src" "$tmp/build"
  echo "$want" >"$tmp/.complete"
  local old=""
  if [[ -e $DEX_HOME ]]; then old=$(mktemp -d "$CACHE/.old.XXXXXX"); mv "$DEX_HOME" "$old/"; fi
  mv "$tmp" "$DEX_HOME"
  [[ -z $old ]] || rm -rf "$old"
  say "built $DEX_BIN"
}

with_cache_lock() {
  exec 8>"$CACHE/.install.lock"
  flock -w 900 8 || die "another install is holding $CACHE/.install.lock"
  "$@"
  exec 8>&-
}

pid_alive() { [[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null; }
ours() { # the pid runs our Dex binary with this data dir's config (guards against recycled pids)
  [[ -r /proc/$1/cmdline ]] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "$DEX_BIN serve $CONFIG"
}
running() { local pid; pid=$(cat "$PID_FILE" 2>/dev/null || true); [[ -n $pid ]] && pid_alive "$pid" && ours "$pid"; }
answers() { [[ $(curl -s -m 2 -o /dev/null -w '%{http_code}' "$ISSUER/.well-known/openid-configuration" || true) == 200 ]]; }

write_config() {
  local uris="\"$REDIRECT_URL\"" u
  IFS=',' read -ra extra <<<"${DEX_EXTRA_REDIRECT_URIS:-}"
  for u in "${extra[@]}"; do [[ -z $u ]] || uris+=", \"$u\""; done
  cat >"$CONFIG" <<YAML
# Written by deploy/local/oidc.sh on every start; edits are overwritten.
issuer: $ISSUER
storage:
  type: memory
web:
  http: 127.0.0.1:$DEX_PORT
logger:
  level: warn
  # the provider's own log holds no personal data of the test citizens either
  excludeFields: [email, username, preferred_username, groups]
oauth2:
  responseTypes: [code]
  skipApprovalScreen: true
  pkce:
    enforce: true
    codeChallengeMethodsSupported: [S256]
staticClients:
  - id: $CLIENT_ID
    secretEnv: DEX_CLIENT_SECRET
    name: LienThong
    redirectURIs: [$uris]
enablePasswordDB: true
YAML
  sed -n '/^staticPasswords:/,$p' "$HERE/dex/citizens.yaml" >>"$CONFIG"
}

up() {
  if external; then say "using the external provider at $CITIZEN_OIDC_ISSUER"; return 0; fi
  with_cache_lock install
  mkdir -p "$RUN"
  exec 9>"$RUN/.lock"
  flock -w $((READY_TIMEOUT + 30)) 9 || die "another oidc.sh is working on $RUN"
  if running; then
    if answers; then say "dex: already running (pid $(cat "$PID_FILE")) at $ISSUER"; return 0; fi
  else
    rm -f "$PID_FILE"
    if (exec 3<>"/dev/tcp/127.0.0.1/$DEX_PORT") 2>/dev/null; then
      die "port $DEX_PORT is already in use by another process; set DEX_PORT, or CITIZEN_OIDC_ISSUER for another provider"
    fi
    write_config
    # setsid: its own session, so a Ctrl-C or a test runner's process-group kill does not take it down
    DEX_CLIENT_SECRET="$CLIENT_SECRET" setsid nohup "$DEX_BIN" serve "$CONFIG" \
      </dev/null >>"$LOG_FILE" 2>&1 8>&- 9>&- &
    echo $! >"$PID_FILE"
    say "dex: starting (pid $!, log $LOG_FILE)"
  fi
  local deadline=$((SECONDS + READY_TIMEOUT))
  until answers; do
    running || { tail -n 30 "$LOG_FILE" >&2 || true; rm -f "$PID_FILE"; die "dex exited during start-up (log: $LOG_FILE)"; }
    ((SECONDS < deadline)) || die "dex not ready after ${READY_TIMEOUT}s (log: $LOG_FILE)"
    sleep 0.25
  done
  say "dex: ready at $ISSUER (client $CLIENT_ID, test citizens in deploy/local/dex/citizens.yaml)"
}

down() {
  if external; then say "external provider, not stopped"; return 0; fi
  if ! running; then rm -f "$PID_FILE"; say "dex: not running"; return 0; fi
  local pid; pid=$(cat "$PID_FILE")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
  pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  say "dex: stopped (was pid $pid)"
}

status() {
  if external; then echo "dex:      external ($CITIZEN_OIDC_ISSUER)"; return 0; fi
  if running; then
    local state="NOT answering"; if answers; then state="ready"; fi
    printf 'dex:      running (pid %s), %s at %s\n' "$(cat "$PID_FILE")" "$state" "$ISSUER"
  else
    echo "dex:      stopped"
  fi
}

command -v flock >/dev/null || die "flock (util-linux) is required"
case "${1:-}" in
  install) if external; then say "external provider, nothing to build"; else with_cache_lock install; fi ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
