#!/usr/bin/env bash
# Start, stop and wait for the four LienThong services as local processes.
#   services.sh start      start all four in the background (pid files + logs under $LIENTHONG_DATA/run)
#   services.sh wait       wait until every /readyz answers 200 (bounded)
#   services.sh stop       SIGTERM (graceful), SIGKILL after a timeout
#   services.sh status     one line per service
#   services.sh foreground start, print where each listens, and stop everything on Ctrl-C
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${LIENTHONG_DATA:-$REPO/.data}"
RUN="$DATA/run"
PY="${LIENTHONG_PYTHON:-$REPO/.venv/bin/python}"
SERVICES=(intake routing resolution notify)
declare -A PORTS=(
  [intake]="${INTAKE_PORT:-8001}" [routing]="${ROUTING_PORT:-8002}"
  [resolution]="${RESOLUTION_PORT:-8003}" [notify]="${NOTIFY_PORT:-8004}"
)
mkdir -p "$RUN"

pid_of() { local f="$RUN/$1.pid"; [[ -f $f ]] && cat "$f" || true; }
alive() { local pid; pid=$(pid_of "$1"); [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; }

start_one() {
  local svc=$1 port=${PORTS[$1]}
  if alive "$svc"; then echo "$svc already running (pid $(pid_of "$svc"))"; return; fi
  rm -f "$RUN/$svc.pid"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port for $svc is already in use by another process" >&2; exit 1
  fi
  ( cd "$REPO" && exec "$PY" -m "services.$svc" ) >>"$RUN/$svc.log" 2>&1 &
  echo $! >"$RUN/$svc.pid"
  echo "$svc starting (pid $!, log $RUN/$svc.log)"
}

stop_one() {
  local svc=$1 pid
  pid=$(pid_of "$svc")
  if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$RUN/$svc.pid"; return; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "$svc did not stop in 15 s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$RUN/$svc.pid"
  echo "$svc stopped"
}

wait_ready() {
  local deadline=$((SECONDS + ${LIENTHONG_READY_TIMEOUT:-120}))
  for svc in "${SERVICES[@]}"; do
    local url="http://127.0.0.1:${PORTS[$svc]}/readyz"
    until [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" || true) == 200 ]]; do
      if ! alive "$svc"; then echo "error: $svc exited; last log lines:" >&2; tail -n 30 "$RUN/$svc.log" >&2; exit 1; fi
      if (( SECONDS > deadline )); then echo "error: $svc not ready at $url" >&2; tail -n 30 "$RUN/$svc.log" >&2; exit 1; fi
      sleep 0.3
    done
    echo "$svc ready at http://127.0.0.1:${PORTS[$svc]}  (docs: /docs)"
  done
}

case "${1:-}" in
  start) for s in "${SERVICES[@]}"; do start_one "$s"; done ;;
  wait) wait_ready ;;
  stop) for s in "${SERVICES[@]}"; do stop_one "$s"; done ;;
  status) for s in "${SERVICES[@]}"; do if alive "$s"; then echo "$s running (pid $(pid_of "$s"))"; else echo "$s stopped"; fi; done ;;
  foreground)
    trap '"$0" stop; exit 0' INT TERM
    for s in "${SERVICES[@]}"; do start_one "$s"; done
    wait_ready
    echo "All four services are up. Logs: $RUN/*.log. Press Ctrl-C to stop."
    tail -q -n 0 -F "$RUN"/*.log &
    wait
    ;;
  *) echo "usage: $0 start|wait|stop|status|foreground" >&2; exit 2 ;;
esac
