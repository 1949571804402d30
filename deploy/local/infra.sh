#!/usr/bin/env bash
# Local Apache Kafka (KRaft, single node, jars from Maven Central) and FerretDB 1.24.2 (SQLite
# backend, built from the Go module proxy) as plain processes — no Docker needed.
#
#   infra.sh install            download/build once into $LIENTHONG_CACHE (reused when present)
#   infra.sh up | down | status start / stop / show both
#   infra.sh start-kafka | stop-kafka | restart-kafka         (tests use these)
#   infra.sh start-ferretdb | stop-ferretdb | restart-ferretdb
#   infra.sh clean              down + remove the data dir (not the cache)
#
# KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL set → that part is external: not installed, started or stopped.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
KAFKA_VERSION=4.1.1
FERRETDB_VERSION=v1.24.2
CACHE="${LIENTHONG_CACHE:-$HOME/.cache/lienthong}"
DATA="${LIENTHONG_DATA:-$REPO/.data/infra}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
MONGO_PORT="${MONGO_PORT:-27017}"
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
FERRETDB_BIN="$CACHE/ferretdb-$FERRETDB_VERSION/ferretdb"
READY_TIMEOUT="${LIENTHONG_INFRA_TIMEOUT:-90}"

say() { echo "[infra] $*"; }
die() { echo "[infra] error: $*" >&2; exit 1; }
external_kafka() { [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; }
external_mongo() { [[ -n "${MONGODB_URL:-}" ]]; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_file() { echo "$DATA/$1.pid"; }
running() { local f; f=$(pid_file "$1"); [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null; }

install_kafka() {
  [[ -f "$KAFKA_HOME/.complete" ]] && return
  command -v java >/dev/null || die "java (JDK 17+) is required for Kafka"
  command -v mvn >/dev/null || die "mvn is required to fetch Kafka from Maven Central"
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (once)"
  local tmp; tmp=$(mktemp -d "$CACHE/.kafka-XXXXXX")
  mvn -q -B -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1 \
    || { cat "$tmp/mvn.log" >&2; rm -rf "$tmp"; die "maven could not fetch Kafka"; }
  touch "$tmp/.complete"
  rm -rf "$KAFKA_HOME"; mv "$tmp" "$KAFKA_HOME"
}

install_ferretdb() {
  [[ -x "$FERRETDB_BIN" ]] && return
  command -v go >/dev/null || die "go is required to build FerretDB"
  say "building FerretDB $FERRETDB_VERSION from the Go module proxy (once, ~2 min)"
  local dir; dir=$(dirname "$FERRETDB_BIN"); mkdir -p "$dir"
  (cd "$HERE/ferretdb" && GOFLAGS=-mod=mod go build -trimpath -o "$FERRETDB_BIN.tmp" .) \
    || die "go build of FerretDB failed"
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
}

kafka_answers() {
  # A real Kafka answer, not just an open port: ApiVersions request v0 must get a response.
  python3 - "$KAFKA_PORT" <<'PY'
import socket, struct, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    client = b"probe"
    body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
    s.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", s.recv(4))[0]
    sys.exit(0 if size > 0 else 1)
except Exception:
    sys.exit(1)
PY
}

wait_until() { # wait_until NAME CHECK...
  local name=$1; shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@"; do
    if ! running "$name"; then tail -n 40 "$DATA/$name.log" >&2 || true; die "$name exited during start-up (log: $DATA/$name.log)"; fi
    (( SECONDS > deadline )) && die "$name not ready after ${READY_TIMEOUT}s (log: $DATA/$name.log)"
    sleep 0.3
  done
}

clean_stale() {
  local f; f=$(pid_file "$1")
  if [[ -f $f ]] && ! kill -0 "$(cat "$f")" 2>/dev/null; then say "removing stale pid file of $1"; rm -f "$f"; fi
}

start_kafka() {
  if external_kafka; then say "using external Kafka at $KAFKA_BOOTSTRAP_SERVERS"; return; fi
  install_kafka
  mkdir -p "$DATA/kafka-logs"
  clean_stale kafka
  if running kafka; then say "kafka already running (pid $(cat "$(pid_file kafka)"))"; wait_until kafka kafka_answers; return; fi
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do port_open "$p" && die "port $p is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT, or KAFKA_BOOTSTRAP_SERVERS to use that Kafka)"; done
  local props="$DATA/server.properties"
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA/kafka-logs
num.partitions=6
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
  if [[ ! -f "$DATA/kafka-logs/meta.properties" ]]; then
    local id; id=$(java -cp "$KAFKA_HOME/lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    java -cp "$KAFKA_HOME/lib/*" kafka.tools.StorageTool format -t "$id" -c "$props" >"$DATA/kafka-format.log" 2>&1 \
      || { cat "$DATA/kafka-format.log" >&2; die "formatting Kafka storage failed"; }
  fi
  nohup java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" -cp "$KAFKA_HOME/lib/*" \
    kafka.Kafka "$props" >>"$DATA/kafka.log" 2>&1 &
  echo $! >"$(pid_file kafka)"
  wait_until kafka kafka_answers
  say "kafka ready on 127.0.0.1:$KAFKA_PORT"
}

start_ferretdb() {
  if external_mongo; then say "using external MongoDB at ${MONGODB_URL%%@*}…"; return; fi
  install_ferretdb
  mkdir -p "$DATA/ferretdb"
  clean_stale ferretdb
  if running ferretdb; then say "ferretdb already running (pid $(cat "$(pid_file ferretdb)"))"; return; fi
  port_open "$MONGO_PORT" && die "port $MONGO_PORT is already in use by another process (set MONGO_PORT, or MONGODB_URL to use that store)"
  nohup "$FERRETDB_BIN" --listen-addr "127.0.0.1:$MONGO_PORT" --sqlite-dir "$DATA/ferretdb" >>"$DATA/ferretdb.log" 2>&1 &
  echo $! >"$(pid_file ferretdb)"
  wait_until ferretdb port_open "$MONGO_PORT"
  say "ferretdb ready on 127.0.0.1:$MONGO_PORT"
}

stop_one() {
  local name=$1 f pid; f=$(pid_file "$name")
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then say "$name did not stop in 20 s; killing"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
    say "$name stopped"
  fi
  rm -f "$f"
}
stop_kafka() { external_kafka || stop_one kafka; }
stop_ferretdb() { external_mongo || stop_one ferretdb; }

status() {
  for n in kafka ferretdb; do
    if [[ $n == kafka ]] && external_kafka; then echo "kafka: external ($KAFKA_BOOTSTRAP_SERVERS)"; continue; fi
    if [[ $n == ferretdb ]] && external_mongo; then echo "ferretdb: external"; continue; fi
    if running "$n"; then echo "$n: running (pid $(cat "$(pid_file "$n")"))"; else echo "$n: stopped"; fi
  done
}

mkdir -p "$CACHE" "$DATA"
case "${1:-}" in
  install) external_kafka || install_kafka; external_mongo || install_ferretdb ;;
  up) start_ferretdb; start_kafka ;;
  down) stop_kafka; stop_ferretdb ;;
  status) status ;;
  start-kafka) start_kafka ;;
  stop-kafka) stop_kafka ;;
  restart-kafka) stop_kafka; start_kafka ;;
  start-ferretdb) start_ferretdb ;;
  stop-ferretdb) stop_ferretdb ;;
  restart-ferretdb) stop_ferretdb; start_ferretdb ;;
  clean) stop_kafka; stop_ferretdb; rm -rf "$DATA" ;;
  *) echo "usage: $0 install|up|down|status|start-kafka|stop-kafka|restart-kafka|start-ferretdb|stop-ferretdb|restart-ferretdb|clean" >&2; exit 2 ;;
esac
