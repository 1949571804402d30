#!/usr/bin/env bash
# Local Apache Kafka 4.1.1 (single-node KRaft, jars from Maven Central) and FerretDB 1.24.2 (MongoDB
# wire protocol, built from the Go module proxy) on its own PostgreSQL cluster (Debian's postgresql
# package, installed when missing), as plain background processes: no Docker. docs/adr/0003.
#
#   infra.sh install                      download/build once into $LIENTHONG_CACHE (reused when present)
#   infra.sh up | down | status           start (waits until all answer) / stop / show them
#   infra.sh start-kafka | stop-kafka | restart-kafka             (tests use these; start waits until ready)
#   infra.sh start-ferretdb | stop-ferretdb | restart-ferretdb    (PostgreSQL stays up under FerretDB)
#   infra.sh start-postgres | stop-postgres
#   infra.sh clean                        down + remove the data dir (not the cache)
#
# Environment (all optional):
#   LIENTHONG_CACHE   download/build cache            default ~/.cache/lienthong
#   LIENTHONG_DATA    data, pid files and logs        default <repo>/.data/infra
#   KAFKA_PORT=9092  KAFKA_CONTROLLER_PORT=9093  KAFKA_SASL_PORT=9094  MONGO_PORT=27017  POSTGRES_PORT=5433
#                     KAFKA_SASL_PORT: the SASL_SSL listener (SCRAM-SHA-512, TLS); user, password, CA and a
#                     client settings file in $LIENTHONG_DATA/kafka-sasl/ (written once, kept across restarts)
#   LIENTHONG_PG_DATA PostgreSQL's data dir           default $LIENTHONG_DATA/postgres (when run as root and the
#                     postgres user cannot reach it: /var/tmp/lienthong-pg/<hash of the data dir>)
#   KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL  non-empty: that part is external (not installed/started/stopped)
#   LIENTHONG_INFRA_TIMEOUT   seconds to wait for readiness (90)
#   KAFKA_JVM_OPTS    extra JVM options for the broker;  FERRETDB_LOG_LEVEL (error)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
KAFKA_VERSION=4.1.1
FERRETDB_VERSION=v1.24.2
CACHE="${LIENTHONG_CACHE:-$HOME/.cache/lienthong}"
DATA="${LIENTHONG_DATA:-$REPO/.data/infra}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
KAFKA_SASL_USER=lienthong
MONGO_PORT="${MONGO_PORT:-27017}"
POSTGRES_PORT="${POSTGRES_PORT:-5433}"
PG_DB=lienthong
PG_USER=lienthong
TUNING_SQL="$HERE/postgres/tuning.sql"
READY_TIMEOUT="${LIENTHONG_INFRA_TIMEOUT:-90}"
RESOLVED_PID=""
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
FERRETDB_HOME="$CACHE/ferretdb-$FERRETDB_VERSION"
FERRETDB_BIN="$FERRETDB_HOME/ferretdb"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
PYTHON="$(command -v python3 || true)"

say() { echo "[infra] $*"; }
die() { echo "[infra] error: $*" >&2; exit 1; }
external_kafka() { [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; }
external_mongo() { [[ -n "${MONGODB_URL:-}" ]]; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_file() { echo "$DATA/$1.pid"; }
log_file() { echo "$DATA/$1.log"; }
sources_hash() { (cd "$HERE" && cat "$@") | sha256sum | cut -c1-16; }

cmdline() { # the command line of PID, arguments separated by single spaces and a trailing space
  local -a args
  mapfile -d '' -t args <"/proc/$1/cmdline" 2>/dev/null || return 1
  ((${#args[@]})) || return 1
  printf '%s ' "${args[@]}"
}

# Is PID our NAME process, for *this* data dir? Guards against recycled pids and against the processes
# of another LIENTHONG_DATA instance. Without /proc (not Linux) the pid file is trusted.
is_ours() {
  [[ -d /proc/self ]] || return 0
  local cmd; cmd=$(cmdline "$2") || return 1
  case $1 in
    kafka) [[ $cmd == *" kafka.Kafka $DATA/server.properties "* ]] ;;
    ferretdb) [[ $cmd == "$FERRETDB_BIN "*"--listen-addr=127.0.0.1:$MONGO_PORT "* ]] ;;
    postgres) [[ $cmd == *"/postgres -D $PG_DATA "* ]] ;;
    *) return 1 ;;
  esac
}

pid_alive() { # the process exists and is not a zombie
  [[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
  if [[ -r /proc/$1/stat ]]; then
    local stat; stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
  fi
}
ours_alive() { pid_alive "$2" && is_ours "$1" "$2"; }
pid_of() { local f; f=$(pid_file "$1"); if [[ -f $f ]]; then cat "$f"; fi; }
running() { local pid; pid=$(pid_of "$1"); [[ -n $pid ]] && ours_alive "$1" "$pid"; }

find_orphan() { # our NAME process running without (or with a wrong) pid file, e.g. after rm of the pid file
  [[ -d /proc/self ]] || return 0
  local d pid
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [[ $pid != "$$" && $pid != "$BASHPID" ]] || continue
    if ours_alive "$1" "$pid"; then echo "$pid"; return 0; fi
  done
}

resolve() { # resolve NAME [readonly]: drop a stale pid file, adopt an orphan; prints nothing
  local name=$1 readonly=${2:-} pid f; f=$(pid_file "$1"); pid=$(pid_of "$name")
  if [[ -n $pid ]] && ! ours_alive "$name" "$pid"; then
    if [[ -z $readonly ]]; then say "$name: removing stale pid file ($f: pid $pid is not our running $name)"; rm -f "$f"; fi
    pid=""
  fi
  if [[ -z $pid ]]; then
    pid=$(find_orphan "$name")
    if [[ -n $pid && -z $readonly ]]; then say "$name: found running without a pid file (pid $pid); adopting it"; echo "$pid" >"$f"; fi
  fi
  RESOLVED_PID=$pid
}

# --------------------------------------------------------------------------------------------- install

install_kafka() {
  local want; want=$(sources_hash kafka/pom.xml)
  if [[ -f "$KAFKA_HOME/.complete" ]]; then
    [[ "$(cat "$KAFKA_HOME/.complete")" == "$want" ]] && return 0
    say "kafka: deploy/local/kafka/pom.xml changed since the cached install; reinstalling"
  fi
  command -v "$JAVA" >/dev/null || die "java (JDK 17+) is required for Kafka (or set KAFKA_BOOTSTRAP_SERVERS)"
  command -v mvn >/dev/null || die "mvn is required to fetch Kafka from Maven Central (or set KAFKA_BOOTSTRAP_SERVERS)"
  say "kafka: fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_HOME (once)"
  local tmp; tmp=$(mktemp -d "$CACHE/.kafka-$KAFKA_VERSION.XXXXXX"); chmod 755 "$tmp"
  if ! mvn -q -B -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1; then
    cat "$tmp/mvn.log" >&2; rm -rf "$tmp"; die "maven could not fetch Kafka $KAFKA_VERSION"
  fi
  ls "$tmp/lib/kafka_2.13-$KAFKA_VERSION.jar" "$tmp"/lib/log4j-slf4j*-impl-*.jar >/dev/null 2>&1 \
    || { rm -rf "$tmp"; die "maven finished but the Kafka classpath is incomplete"; }
  echo "$want" >"$tmp/.complete"
  swap_into_place "$tmp" "$KAFKA_HOME"
  say "kafka: installed ($(find "$KAFKA_HOME/lib" -name '*.jar' | wc -l) jars)"
}

install_ferretdb() {
  local want; want=$(sources_hash ferretdb/go.mod ferretdb/go.sum ferretdb/main.go)
  if [[ -x "$FERRETDB_BIN" && -f "$FERRETDB_HOME/.complete" ]]; then
    [[ "$(cat "$FERRETDB_HOME/.complete")" == "$want" ]] && return 0
    say "ferretdb: deploy/local/ferretdb changed since the cached build; rebuilding"
  fi
  command -v go >/dev/null || die "go is required to build FerretDB (or set MONGODB_URL)"
  say "ferretdb: building FerretDB $FERRETDB_VERSION from the Go module proxy into $FERRETDB_HOME (once, 1-3 min)"
  local tmp; tmp=$(mktemp -d "$CACHE/.ferretdb-$FERRETDB_VERSION.XXXXXX"); chmod 755 "$tmp"
  if ! (cd "$HERE/ferretdb" && GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 go build -trimpath -o "$tmp/ferretdb" .) >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2; rm -rf "$tmp"; die "go build of FerretDB $FERRETDB_VERSION failed"
  fi
  echo "$want" >"$tmp/.complete"
  swap_into_place "$tmp" "$FERRETDB_HOME"
  say "ferretdb: built $FERRETDB_BIN"
}

swap_into_place() { # swap_into_place TMPDIR FINALDIR (same file system: each mv is atomic)
  local old=""
  if [[ -e $2 ]]; then old=$(mktemp -d "$CACHE/.old.XXXXXX"); mv "$2" "$old/"; fi
  mv "$1" "$2"
  [[ -z $old ]] || rm -rf "$old"
}

with_cache_lock() { # only one install at a time per cache
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.install.lock"
  flock -w 900 8 || die "another install is holding $CACHE/.install.lock"
  "$@"
  exec 8>&-
}

# ------------------------------------------------------------------------------------------- readiness

kafka_answers() { # a real Kafka answer: ApiVersions (v0) must come back with error_code 0
  if [[ -z $PYTHON ]]; then port_open "$KAFKA_PORT"; return; fi
  "$PYTHON" - "$KAFKA_PORT" <<'PY'
import socket, struct, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.settimeout(3)
    client = b"lienthong-infra-probe"
    body = struct.pack(">hhih", 18, 0, 4242, len(client)) + client  # ApiVersions v0, correlation 4242
    s.sendall(struct.pack(">i", len(body)) + body)
    data = b""
    while len(data) < 10:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit(1)
        data += chunk
    size, corr, err = struct.unpack(">iih", data[:10])
    sys.exit(0 if size > 6 and corr == 4242 and err == 0 else 1)
except Exception:
    sys.exit(1)
PY
}

ferretdb_answers() { # a real MongoDB answer: OP_MSG {hello: 1} must come back with ok: 1.0
  if [[ -z $PYTHON ]]; then port_open "$MONGO_PORT"; return; fi
  "$PYTHON" - "$MONGO_PORT" <<'PY'
import socket, struct, sys
def bson(*fields):
    body = b"".join(fields) + b"\x00"
    return struct.pack("<i", len(body) + 4) + body
try:
    doc = bson(b"\x10hello\x00" + struct.pack("<i", 1),
               b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00")
    payload = struct.pack("<i", 0) + b"\x00" + doc
    msg = struct.pack("<iiii", 16 + len(payload), 4242, 0, 2013) + payload
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.settimeout(3)
    s.sendall(msg)
    data = b""
    while len(data) < 16 or len(data) < struct.unpack("<i", data[:4])[0]:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(1)
        data += chunk
    _, _, response_to, opcode = struct.unpack("<iiii", data[:16])
    ok = b"\x01ok\x00" + struct.pack("<d", 1.0) in data
    sys.exit(0 if response_to == 4242 and opcode == 2013 and ok else 1)
except Exception:
    sys.exit(1)
PY
}

kafka_started_since() { # the broker logged "Kafka Server started" after byte offset $1 of kafka.log
  tail -c "+$(($1 + 1))" "$(log_file kafka)" 2>/dev/null | grep -q "Kafka Server started"
}

wait_ready() { # wait_ready NAME CHECK...
  local name=$1; shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@"; do
    # alive is enough: right after `setsid nohup PROGRAM &` the pid is for a moment a forked copy of this script,
    # whose command line is not PROGRAM's yet (is_ours would call a healthy broker dead)
    if ! pid_alive "$(pid_of "$name")"; then
      tail -n 30 "$(log_file "$name")" >&2 || true
      rm -f "$(pid_file "$name")"
      die "$name exited during start-up (log: $(log_file "$name"))"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$(log_file "$name")" >&2 || true
      die "$name not ready after ${READY_TIMEOUT}s (still running as pid $(pid_of "$name"); log: $(log_file "$name"))"
    fi
    sleep 0.25
  done
}

ensure_port_free() { # ensure_port_free PORT WHAT HINT
  if port_open "$1"; then
    die "port $1 ($2) is already in use by another process; $3"
  fi
}

rotate_log() { # keep one previous log once it passes 20 MB
  local f; f=$(log_file "$1")
  if [[ -f $f ]] && (($(stat -c %s "$f" 2>/dev/null || echo 0) > 20 * 1024 * 1024)); then mv -f "$f" "$f.1"; fi
}

# ------------------------------------------------------------------------------------------------- kafka

KAFKA_LOG_OFFSET=0
LAUNCHED=0
launch_kafka() { # sets LAUNCHED=1 when it started a new broker (the caller then waits for it)
  LAUNCHED=0
  with_cache_lock install_kafka
  mkdir -p "$DATA/kafka-logs"
  resolve kafka
  if running kafka; then
    say "kafka: already running (pid $(pid_of kafka)) on 127.0.0.1:$KAFKA_PORT"
    kafka_has_sasl_listener || say "kafka: this broker was started without the SASL_SSL listener; 'infra.sh restart-kafka' adds it"
    return 0
  fi
  local hint="set KAFKA_PORT / KAFKA_CONTROLLER_PORT for another port, or KAFKA_BOOTSTRAP_SERVERS to use that Kafka"
  ensure_port_free "$KAFKA_PORT" "Kafka PLAINTEXT listener" "$hint"
  ensure_port_free "$KAFKA_CONTROLLER_PORT" "Kafka CONTROLLER listener" "$hint"
  ensure_port_free "$KAFKA_SASL_PORT" "Kafka SASL_SSL listener" "set KAFKA_SASL_PORT for another port"
  make_kafka_tls
  local props="$DATA/server.properties" tls="$DATA/kafka-sasl"
  cat >"$props" <<PROPS
# Written by deploy/local/infra.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
# SASL_SSL: what production brokers ask of every client (SCRAM users, TLS); users are added by
# ensure_kafka_sasl_user, the certificate is the local CA's (kafka-sasl/ca.pem)
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$tls/broker-keystore.pem
log.dirs=$DATA/kafka-logs
num.partitions=6
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
  if [[ ! -f "$DATA/kafka-logs/meta.properties" ]]; then
    local id
    if [[ -n $PYTHON ]]; then
      id=$("$PYTHON" -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
    else
      id=$("$JAVA" -cp "$KAFKA_HOME/lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    fi
    say "kafka: formatting storage in $DATA/kafka-logs (cluster id $id)"
    "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" -cp "$KAFKA_HOME/lib/*" \
      kafka.tools.StorageTool format -t "$id" -c "$props" >"$DATA/kafka-format.log" 2>&1 \
      || { cat "$DATA/kafka-format.log" >&2; die "formatting Kafka storage failed"; }
  fi
  rotate_log kafka
  KAFKA_LOG_OFFSET=$(stat -c %s "$(log_file kafka)" 2>/dev/null || echo 0)
  # setsid: own session, so a Ctrl-C or a test runner's process-group kill does not take it down.
  # 8>&- 9>&-: the broker must not inherit the lock descriptors.
  # TieredStopAtLevel=1 (C1 JIT only) halves the start-up time on a busy machine, which is what tests
  # that stop and start Kafka wait for; KAFKA_JVM_OPTS=-XX:TieredStopAtLevel=4 restores the full JIT.
  # shellcheck disable=SC2086
  setsid nohup "$JAVA" -Xms256m -Xmx${KAFKA_HEAP_MAX:-1536m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Dlog4j2.shutdownHookEnabled=false \
    -Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" ${KAFKA_JVM_OPTS:-} \
    -cp "$KAFKA_HOME/lib/*" kafka.Kafka "$props" \
    </dev/null >>"$(log_file kafka)" 2>&1 8>&- 9>&- &
  echo $! >"$(pid_file kafka)"
  LAUNCHED=1
  say "kafka: starting (pid $!, log $(log_file kafka))"
}

make_kafka_tls() { # once per data dir: a local CA, the broker's key and certificate, the SASL password
  local dir="$DATA/kafka-sasl"
  [[ -f $dir/broker-keystore.pem && -f $dir/ca.pem && -f $dir/password ]] && return 0
  command -v openssl >/dev/null || die "openssl is required for Kafka's SASL_SSL listener's certificate"
  local tmp; tmp=$(mktemp -d "$DATA/.kafka-sasl.XXXXXX")
  (
    cd "$tmp" && umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=LienThong local Kafka CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout ca.key -out ca.pem
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
      -keyout broker.key -out broker.csr
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
      "keyUsage=critical,digitalSignature" "basicConstraints=critical,CA:FALSE" \
      "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
      -days 3650 -extfile broker.ext -out broker.pem
    cat broker.key broker.pem ca.pem >broker-keystore.pem # PEM keystore: PKCS#8 key, then the chain
    rm -f broker.csr broker.ext broker.key ca.key         # nothing will be signed by this CA again
    head -c 24 /dev/urandom | base64 | tr -d '/+=' >password
    chmod 644 ca.pem
  ) >"$DATA/kafka-tls.log" 2>&1 || { cat "$DATA/kafka-tls.log" >&2; rm -rf "$tmp"; die "openssl could not make Kafka's TLS certificate"; }
  rm -rf "$dir"; mv "$tmp" "$dir"; chmod 700 "$dir"
  say "kafka: made a local CA and the SASL_SSL listener's certificate in $dir"
}

ensure_kafka_sasl_user() { # once per cluster id: the SCRAM user of the SASL_SSL listener, and client.env
  local dir="$DATA/kafka-sasl" cluster
  cluster=$(sed -n 's/^cluster.id=//p' "$DATA/kafka-logs/meta.properties" 2>/dev/null)
  [[ -n $cluster ]] || die "kafka: no cluster id in $DATA/kafka-logs/meta.properties"
  if [[ "$(cat "$dir/user.cluster" 2>/dev/null)" != "$cluster" ]]; then
    local pw; pw=$(cat "$dir/password")
    # the password goes in a file, not on a command line where `ps` shows it (in a file the value has no
    # brackets: ConfigCommand reads "SCRAM-SHA-512=password=…" there, "[password=…]" on its command line)
    (umask 077; printf 'SCRAM-SHA-512=password=%s\n' "$pw" >"$dir/scram.properties")
    if ! "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" \
        -cp "$KAFKA_HOME/lib/*" kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter \
        --entity-type users --entity-name "$KAFKA_SASL_USER" --add-config-file "$dir/scram.properties" \
        >"$DATA/kafka-scram.log" 2>&1 8>&- 9>&-; then
      rm -f "$dir/scram.properties"; cat "$DATA/kafka-scram.log" >&2; die "kafka: adding the SCRAM user failed"
    fi
    rm -f "$dir/scram.properties"
    echo "$cluster" >"$dir/user.cluster"
    say "kafka: SCRAM user '$KAFKA_SASL_USER' added for the SASL_SSL listener"
  fi
  # the settings a client needs for the SASL_SSL listener: `set -a; . client.env; set +a`
  (umask 077; cat >"$dir/client.env" <<ENV
KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_SASL_PORT
KAFKA_SECURITY_PROTOCOL=SASL_SSL
KAFKA_SASL_MECHANISM=SCRAM-SHA-512
KAFKA_SASL_USERNAME=$KAFKA_SASL_USER
KAFKA_SASL_PASSWORD=$(cat "$dir/password")
KAFKA_SSL_CAFILE=$dir/ca.pem
ENV
  )
}

kafka_has_sasl_listener() { grep -q "^listeners=.*SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT" "$DATA/server.properties" 2>/dev/null; }

kafka_ready_after_launch() { kafka_started_since "$KAFKA_LOG_OFFSET" && kafka_answers; }

start_kafka() {
  if external_kafka; then say "kafka: using external Kafka at $KAFKA_BOOTSTRAP_SERVERS"; return 0; fi
  local t0=$SECONDS
  launch_kafka
  if ((LAUNCHED)); then
    wait_ready kafka kafka_ready_after_launch
    say "kafka: ready on 127.0.0.1:$KAFKA_PORT, SASL_SSL on $KAFKA_SASL_PORT ($((SECONDS - t0)) s)"
  else
    wait_ready kafka kafka_answers
  fi
  if kafka_has_sasl_listener; then ensure_kafka_sasl_user; fi
}

# ---------------------------------------------------------------------------------------------- postgres

PG_BIN=""
pg_bin_dir() { # the newest PostgreSQL server binaries on the machine
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then echo "$d"; return 0; fi
  done
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0; fi
  return 1
}
find_pg_bin() { # sets PG_BIN; installs Debian's postgresql package when missing (as root)
  [[ -z $PG_BIN ]] || return 0
  PG_BIN=$(pg_bin_dir) && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    say "postgres: PostgreSQL is not installed; installing Debian's postgresql package (once)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >"$CACHE/apt-postgresql.log" 2>&1 \
      || { tail -n 20 "$CACHE/apt-postgresql.log" >&2; die "apt-get install postgresql failed (or set MONGODB_URL)"; }
    PG_BIN=$(pg_bin_dir) && return 0
  fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found: install the postgresql package (apt-get install postgresql) or set MONGODB_URL"
}

PG_DATA=""
PG_RUN_AS=()
pg_data_dir() { # where the cluster lives (no side effects: `status` uses it as well as start and stop)
  if [[ -n ${LIENTHONG_PG_DATA:-} ]]; then echo "$LIENTHONG_PG_DATA"; return 0; fi
  if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
    # as root the server runs as `postgres`, which cannot reach a data dir under closed parents (/root)
    echo "/var/tmp/lienthong-pg/$(echo -n "$DATA" | sha256sum | cut -c1-12)"
  else
    echo "$DATA/postgres"
  fi
}
choose_pg_data() { # PostgreSQL refuses to run as root: as root it runs as the `postgres` user
  PG_RUN_AS=()
  if [[ $EUID -ne 0 ]]; then PG_DATA=$(pg_data_dir); return 0; fi
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres \
    || die "running as root, and there is no 'postgres' user to run PostgreSQL as"
  PG_RUN_AS=(runuser -u postgres --)
  PG_DATA=$(pg_data_dir)
  mkdir -p "$PG_DATA"
  chown postgres: "$PG_DATA"
  chmod 700 "$PG_DATA"
  [[ $PG_DATA == "$DATA/postgres" ]] || { mkdir -p "$(dirname "$PG_DATA")"; chmod 711 "$(dirname "$PG_DATA")"; }
}
pg_log() { # beside the cluster when the data dir is closed to the postgres user
  if [[ $PG_DATA == "$DATA/postgres" ]]; then log_file postgres; else echo "$PG_DATA.log"; fi
}
pg() { "${PG_RUN_AS[@]}" "$@"; }
pg_password() { cat "$DATA/postgres.password"; }
psql_do() { PGPASSWORD=$(pg_password) "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$PG_USER" "$@"; }
postgres_answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -d "$PG_DB" >/dev/null 2>&1; }
pg_pid() { [[ -f $PG_DATA/postmaster.pid ]] && head -n1 "$PG_DATA/postmaster.pid" || true; }
pg_running() { local pid; pid=$(pg_pid); [[ -n $pid ]] && pid_alive "$pid"; }

init_postgres() { # a new cluster: own superuser with a random password, loopback only, own port
  say "postgres: creating a cluster in $PG_DATA (port $POSTGRES_PORT, loopback only)"
  umask 077
  head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$DATA/postgres.password"
  local pwfile="$PG_DATA.pwfile"
  cp "$DATA/postgres.password" "$pwfile"
  [[ ${#PG_RUN_AS[@]} -eq 0 ]] || chown postgres: "$pwfile"
  pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pwfile" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    >"$DATA/postgres-init.log" 2>&1 || { rm -f "$pwfile"; cat "$DATA/postgres-init.log" >&2; die "initdb failed"; }
  rm -f "$pwfile"
  umask 022
}

start_postgres() {
  if external_mongo; then return 0; fi
  find_pg_bin
  choose_pg_data
  if [[ ! -f $PG_DATA/PG_VERSION || ! -f $DATA/postgres.password ]]; then
    if [[ -n $(ls -A "$PG_DATA" 2>/dev/null) ]]; then
      # a cluster whose password went with an older data dir: ours to replace only where we chose the place
      [[ -z ${LIENTHONG_PG_DATA:-} ]] || die "$PG_DATA holds a cluster but $DATA/postgres.password is missing"
      pg_running && die "a PostgreSQL without its password file is running from $PG_DATA; stop it first"
      find "$PG_DATA" -mindepth 1 -delete
    fi
    init_postgres
  fi
  if pg_running; then
    postgres_answers || wait_until postgres postgres_answers
    echo "$(pg_pid)" >"$(pid_file postgres)"
  else
    ensure_port_free "$POSTGRES_PORT" "PostgreSQL" "set POSTGRES_PORT for another port, or MONGODB_URL to use that server"
    rotate_log postgres
    touch "$(pg_log)"; [[ ${#PG_RUN_AS[@]} -eq 0 ]] || chown postgres: "$(pg_log)" 2>/dev/null || true
    # synchronous_commit=off: a development store may lose its last few ms on an OS crash, never consistency
    local opts="-c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -c unix_socket_directories=$PG_DATA"
    opts+=" -c max_connections=500 -c shared_buffers=256MB -c synchronous_commit=off -c log_min_messages=warning"
    # 8>&- 9>&-: the server must not inherit the lock descriptors
    if ! pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$(pg_log)" -o "$opts" -w -t "$READY_TIMEOUT" start >/dev/null 2>&1 8>&- 9>&- \
      && ! postgres_answers; then
      tail -n 30 "$(pg_log)" >&2 || true
      die "PostgreSQL did not start (log: $(pg_log))"
    fi
    if ! is_ours postgres "$(pg_pid)"; then die "PostgreSQL started but its process is not the expected one"; fi
    echo "$(pg_pid)" >"$(pid_file postgres)"
    say "postgres: ready on 127.0.0.1:$POSTGRES_PORT (pid $(pg_pid))"
  fi
  if [[ -z $(psql_do -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") ]]; then
    psql_do -d postgres -c "CREATE DATABASE $PG_DB" >/dev/null
  fi
  psql_do -d "$PG_DB" -f "$TUNING_SQL" >/dev/null 2>"$DATA/postgres-tuning.log" \
    || { cat "$DATA/postgres-tuning.log" >&2; die "applying $TUNING_SQL failed"; }
  say "postgres: tuning applied ($(grep -o 'tuning-version: [0-9]*' "$TUNING_SQL"))"
}

stop_postgres() {
  if external_mongo; then return 0; fi
  find_pg_bin
  choose_pg_data
  if ! pg_running; then rm -f "$(pid_file postgres)"; say "postgres: not running"; return 0; fi
  local pid; pid=$(pg_pid)
  pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$(pid_file postgres)"
  say "postgres: stopped (was pid $pid)"
}

wait_until() { # wait_until NAME CHECK: bounded wait for a process we did not launch just now
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$2"; do ((SECONDS < deadline)) || die "$1 not answering after ${READY_TIMEOUT}s"; sleep 0.25; done
}

# ---------------------------------------------------------------------------------------------- ferretdb

launch_ferretdb() { # sets LAUNCHED=1 when it started a new server; PostgreSQL must be up
  LAUNCHED=0
  with_cache_lock install_ferretdb
  resolve ferretdb
  if running ferretdb; then say "ferretdb: already running (pid $(pid_of ferretdb)) on 127.0.0.1:$MONGO_PORT"; return 0; fi
  ensure_port_free "$MONGO_PORT" "FerretDB/MongoDB" "set MONGO_PORT for another port, or MONGODB_URL to use that server"
  rotate_log ferretdb
  # the URL (with its password) goes by environment, not on the command line where `ps` shows it
  FERRETDB_POSTGRESQL_URL="postgres://$PG_USER:$(pg_password)@127.0.0.1:$POSTGRES_PORT/$PG_DB" \
    setsid nohup "$FERRETDB_BIN" --listen-addr="127.0.0.1:$MONGO_PORT" \
    --telemetry=disable --debug-addr=- --log-level="${FERRETDB_LOG_LEVEL:-error}" \
    </dev/null >>"$(log_file ferretdb)" 2>&1 8>&- 9>&- &
  echo $! >"$(pid_file ferretdb)"
  LAUNCHED=1
  say "ferretdb: starting (pid $!, log $(log_file ferretdb))"
}

start_ferretdb() {
  if external_mongo; then say "ferretdb: using external MongoDB at ${MONGODB_URL##*@}"; return 0; fi
  local t0=$SECONDS
  start_postgres
  launch_ferretdb
  wait_ready ferretdb ferretdb_answers
  if ((LAUNCHED)); then say "ferretdb: ready on 127.0.0.1:$MONGO_PORT ($((SECONDS - t0)) s)"; fi
}

# -------------------------------------------------------------------------------------------- stop, status

stop_one() { # stop_one NAME TIMEOUT_S: SIGTERM, wait, SIGKILL after the timeout
  local name=$1 timeout=$2 pid
  resolve "$name"
  pid=$(pid_of "$name")
  if [[ -z $pid ]]; then say "$name: not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while ours_alive "$name" "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if ours_alive "$name" "$pid"; then
    say "$name: did not stop within ${timeout} s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$(pid_file "$name")"
  say "$name: stopped (was pid $pid)"
}
stop_kafka() {
  if external_kafka; then say "kafka: external ($KAFKA_BOOTSTRAP_SERVERS), not stopped"; return 0; fi
  stop_one kafka "${KAFKA_STOP_TIMEOUT:-30}"
}
stop_ferretdb() {
  if external_mongo; then say "ferretdb: external, not stopped"; return 0; fi
  stop_one ferretdb "${FERRETDB_STOP_TIMEOUT:-10}"
}

status_one() { # status_one NAME PORT PROBE
  local name=$1 port=$2 probe=$3 state note=""
  resolve "$name" readonly
  if [[ -z $RESOLVED_PID ]]; then printf '%-9s stopped\n' "$name:"; return 0; fi
  [[ "$(pid_of "$name")" == "$RESOLVED_PID" ]] || note=", no pid file"
  if "$probe"; then state="ready"; else state="NOT answering"; fi
  printf '%-9s running (pid %s%s), %s on 127.0.0.1:%s\n' "$name:" "$RESOLVED_PID" "$note" "$state" "$port"
}

status() {
  if external_kafka; then echo "kafka:    external ($KAFKA_BOOTSTRAP_SERVERS)"; else
    status_one kafka "$KAFKA_PORT" kafka_answers
    if kafka_has_sasl_listener; then echo "          SASL_SSL on 127.0.0.1:$KAFKA_SASL_PORT (client settings: $DATA/kafka-sasl/client.env)"; fi
  fi
  if external_mongo; then echo "ferretdb: external (${MONGODB_URL##*@})"; else
    status_one ferretdb "$MONGO_PORT" ferretdb_answers
    PG_BIN=$(pg_bin_dir) || { echo "postgres: not installed"; return 0; }
    PG_DATA=$(pg_data_dir)
    if pg_running; then
      local state="NOT answering"
      if postgres_answers; then state="ready"; fi
      printf '%-9s running (pid %s), %s on 127.0.0.1:%s, data in %s\n' "postgres:" "$(pg_pid)" "$state" "$POSTGRES_PORT" "$PG_DATA"
    else
      printf '%-9s stopped\n' "postgres:"
    fi
  fi
  echo "data:     $DATA"
  echo "cache:    $CACHE"
}

up() {
  local t0=$SECONDS k=0 f=0
  if external_kafka; then say "kafka: using external Kafka at $KAFKA_BOOTSTRAP_SERVERS"; else launch_kafka; k=$LAUNCHED; fi
  if external_mongo; then say "ferretdb: using external MongoDB at ${MONGODB_URL##*@}"; else start_postgres; launch_ferretdb; f=$LAUNCHED; fi
  if ! external_mongo; then
    wait_ready ferretdb ferretdb_answers
    if ((f)); then say "ferretdb: ready on 127.0.0.1:$MONGO_PORT"; fi
  fi
  if ! external_kafka; then
    if ((k)); then wait_ready kafka kafka_ready_after_launch; say "kafka: ready on 127.0.0.1:$KAFKA_PORT, SASL_SSL on $KAFKA_SASL_PORT"
    else wait_ready kafka kafka_answers; fi
    if kafka_has_sasl_listener; then ensure_kafka_sasl_user; fi
  fi
  say "up ($((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------------------------------------------- main

if [[ -n ${INFRA_SH_SOURCED:-} ]]; then return 0; fi # sourced for its functions (tests/unit/deploy/test_infra_script.py)

cmd="${1:-}"
case "$cmd" in
  install | up | down | status | start-kafka | stop-kafka | restart-kafka | start-ferretdb | stop-ferretdb \
    | restart-ferretdb | start-postgres | stop-postgres | clean) ;;
  *) echo "usage: $0 install|up|down|status|start-kafka|stop-kafka|restart-kafka|start-ferretdb|stop-ferretdb|restart-ferretdb|start-postgres|stop-postgres|clean" >&2
     exit 2 ;;
esac
command -v flock >/dev/null || die "flock (util-linux) is required"
mkdir -p "$CACHE"

if [[ $cmd == install ]]; then
  if external_kafka; then say "kafka: external ($KAFKA_BOOTSTRAP_SERVERS), nothing to install"; else with_cache_lock install_kafka; fi
  if external_mongo; then say "ferretdb: external, nothing to install"; else with_cache_lock install_ferretdb; find_pg_bin; fi
  exit 0
fi

mkdir -p "$DATA"
DATA="$(cd "$DATA" && pwd)"
if [[ $cmd != status ]]; then # one state-changing command at a time per data dir
  exec 9>"$DATA/.infra.lock"
  flock -w $((3 * READY_TIMEOUT + 60)) 9 || die "another infra.sh is still working on $DATA"
fi

case "$cmd" in
  up) up ;;
  down) stop_kafka; stop_ferretdb; stop_postgres ;;
  status) status ;;
  start-kafka) start_kafka ;;
  stop-kafka) stop_kafka ;;
  restart-kafka) stop_kafka; start_kafka ;;
  start-ferretdb) start_ferretdb ;;
  start-postgres) start_postgres ;;
  stop-postgres) stop_postgres ;;
  stop-ferretdb) stop_ferretdb ;;
  restart-ferretdb) stop_ferretdb; start_ferretdb ;;
  clean)
    stop_kafka; stop_ferretdb; stop_postgres
    case "$DATA" in "/" | "$HOME" | "$REPO") die "refusing to remove $DATA" ;; esac
    if ! external_mongo && [[ $PG_DATA != "$DATA/"* ]]; then rm -rf "${PG_DATA:?}" "$PG_DATA.log"; fi
    rm -rf "$DATA"; say "removed $DATA" ;;
esac
