# shellcheck shell=bash
# The shared servers the integration tests talk to, on random free loopback ports:
# RabbitMQ with the management API, the Kafka mock (3 brokers), a 3-master Redis cluster and a
# Redis sentinel group (master + replica + sentinel, master name "mymaster").
# RabbitMQ also serves AMQPS and HTTPS management with a CA of its own (files in
# <state-dir>/rabbitmq/tls); it verifies client certificates when given (not required), and
# one made for the user EBB_TEST_RABBITMQ_CERT_USER logs in with SASL EXTERNAL.
#
# SOURCE this file, don't run it: the servers must stay children of the calling shell, which
# reaps them (PID 1 on our machines does not reap orphans promptly, so an orphaned server that
# exits stays <defunct>).
#
#   source tests/servers.sh
#   trap ebb_servers_stop EXIT
#   ebb_servers_start <state-dir> <env-file> [kafka_mock_server binary]
#
# The env file holds KEY=value lines (valid shell too); tests read it through EBB_TEST_ENV_FILE
# (tests/support/support.h, shared_servers()). The Kafka mock binary defaults to
# $EBB_KAFKA_MOCK_BIN, else bin/kafka_mock_server next to the env file (the build directory);
# "none" starts no Kafka (the ThreadSanitizer run: librdkafka is not instrumented, and its mock
# cluster dies under TSan's runtime; no TSan test uses Kafka).
# Topics it pre-creates: $EBB_KAFKA_MOCK_TOPICS (default "orders:3"); others are auto-created
# with 4 partitions on first produce (the mock supports no CreateTopics).
#
# Every server is started with </dev/null >log 2>&1: a server holding the caller's stdout open
# would hang any `| tee` around the caller. Logs stay in <state-dir> for post-mortems.

declare -gA _ebb_server_pid=()  # name -> pid of a server we started
declare -gA _ebb_server_log=()  # name -> its log file
declare -ga _ebb_used_ports=()
declare -g _ebb_rabbitmq_dir="" _ebb_epmd_port="" _ebb_replica_port="" _ebb_rabbitmq_in_namespace=""
declare -g _ebb_env_file=""

_ebb_say() { echo "servers: $*" >&2; }

# Picks a random port that nothing on this machine uses (listening or connected) and that this
# run has not handed out yet; below the kernel's ephemeral range, so outgoing connections can't
# take it between now and the server's bind.
_ebb_pick_port() {
  # Locals are prefixed: the nameref would otherwise resolve to a local of the same name.
  local -n _ebb_out=$1
  local _ebb_p _ebb_i
  for ((_ebb_i = 0; _ebb_i < 500; _ebb_i++)); do
    _ebb_p=$((20000 + RANDOM % 12000))
    [[ " ${_ebb_used_ports[*]} " == *" $_ebb_p "* ]] && continue
    if [[ -n $(ss -Htan "( sport = :$_ebb_p )" 2>/dev/null) ]]; then continue; fi
    _ebb_used_ports+=("$_ebb_p")
    _ebb_out=$_ebb_p
    return 0
  done
  _ebb_say "no free port found"
  return 1
}

# _ebb_spawn NAME LOG COMMAND...: starts a server in the background as our child.
_ebb_spawn() {
  local name=$1 log=$2
  shift 2
  "$@" </dev/null >"$log" 2>&1 &
  _ebb_server_pid[$name]=$!
  _ebb_server_log[$name]=$log
}

_ebb_alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $stat && $stat != Z* ]]
}

_ebb_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# _ebb_wait NAME TIMEOUT_S COMMAND...: polls COMMAND until it succeeds. On timeout, or when the
# server died, says which server failed and shows its log tail.
_ebb_wait() {
  local name=$1 timeout=$2
  shift 2
  local deadline=$((SECONDS + timeout)) pid=${_ebb_server_pid[$name]:-} log=${_ebb_server_log[$name]:-}
  until "$@" >/dev/null 2>&1; do
    if [[ -n $pid ]] && ! _ebb_alive "$pid"; then
      _ebb_say "$name exited during start-up; last lines of $log:"
      tail -n 30 "$log" >&2 || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      _ebb_say "$name not ready after ${timeout}s (check: $*); last lines of ${log:-its log}:"
      [[ -n $log ]] && { tail -n 30 "$log" >&2 || true; }
      return 1
    fi
    sleep 0.1
  done
}

_ebb_redis_args() {  # PORT DIR: what every redis-server here shares
  printf '%s\n' --bind 127.0.0.1 --port "$1" --dir "$2" --save '' --appendonly no \
    --daemonize no --logfile ''
}

# _ebb_make_certs DIR CLIENT_CN: a CA, a server certificate for 127.0.0.1/localhost and a
# client certificate for CLIENT_CN, as tests/support's make_test_certs makes them (EC P-256:
# fast to make, accepted by every TLS stack we test). Keys are unencrypted PKCS#8. `req -CA`
# issues without a CSR, and the two leaves are made side by side: ~0.06 s instead of ~0.3 s.
_ebb_make_certs() {
  local d=$1 cn=$2 server client
  local -a ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650)
  mkdir -p "$d" || return 1
  cat >"$d/openssl.cnf" <<'EOC'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOC
  local -a req=(openssl req -x509 -new -config "$d/openssl.cnf" "${ec[@]}")
  local -a by_ca=(-CA "$d/ca.crt" -CAkey "$d/ca.key")
  if "${req[@]}" -extensions ca -subj "/CN=Ebb Test CA" -keyout "$d/ca.key" -out "$d/ca.crt" \
    >"$d/openssl.log" 2>&1; then
    "${req[@]}" "${by_ca[@]}" -extensions server -subj /CN=localhost -keyout "$d/server.key" \
      -out "$d/server.crt" >"$d/openssl-server.log" 2>&1 &
    server=$!
    "${req[@]}" "${by_ca[@]}" -extensions client -subj "/CN=$cn" -keyout "$d/client.key" \
      -out "$d/client.crt" >"$d/openssl-client.log" 2>&1 &
    client=$!
    wait "$server" && wait "$client" && return 0
    wait "$client"  # never leave it running
    cat "$d/openssl-server.log" "$d/openssl-client.log" >>"$d/openssl.log"
  fi
  _ebb_say "openssl could not make the test certificates; $d/openssl.log:"
  tail -n 30 "$d/openssl.log" >&2
  return 1
}

_ebb_start_rabbitmq() {
  local d=$1 amqp amqps dist http https epmd tls
  local -a pid_namespace=()
  _ebb_pick_port amqp && _ebb_pick_port amqps && _ebb_pick_port dist && _ebb_pick_port http &&
    _ebb_pick_port https && _ebb_pick_port epmd || return 1
  if [[ $d == *[[:space:]]* ]]; then
    # rabbitmq.conf and the env file hold paths under it unquoted.
    _ebb_say "rabbitmq: the state directory '$d' must not contain whitespace"
    return 1
  fi
  mkdir -p "$d/mnesia" "$d/log" || return 1
  tls=$d/tls
  # The client certificate's CN is the user name SASL EXTERNAL logs in as.
  _ebb_make_certs "$tls" ebb-test-cert-user || return 1
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/.erlang.cookie" && chmod 400 "$d/.erlang.cookie"
  echo '[rabbitmq_management,rabbitmq_auth_mechanism_ssl].' >"$d/enabled_plugins"
  cat >"$d/rabbitmq.conf" <<EOC
listeners.tcp.default = 127.0.0.1:$amqp
listeners.ssl.default = 127.0.0.1:$amqps
# Client certificates are verified when presented but not required, so one TLS listener serves
# password logins and certificate (SASL EXTERNAL) logins alike.
ssl_options.cacertfile = $tls/ca.crt
ssl_options.certfile = $tls/server.crt
ssl_options.keyfile = $tls/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
# EXTERNAL comes from rabbitmq_auth_mechanism_ssl; the broker offers only what is listed here.
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
ssl_cert_login_from = common_name
management.tcp.port = $http
management.tcp.ip = 127.0.0.1
management.ssl.port = $https
management.ssl.ip = 127.0.0.1
management.ssl.cacertfile = $tls/ca.crt
management.ssl.certfile = $tls/server.crt
management.ssl.keyfile = $tls/server.key
management.ssl.verify = verify_peer
management.ssl.fail_if_no_peer_cert = false
# guest may also log in through tests/support's TcpProxy
loopback_users = none
# queue stats in the HTTP API lag by this much (default 5 s)
collect_statistics_interval = 500
EOC
  # In a PID namespace of its own, killing its init takes down the Erlang VM, the epmd it
  # daemonizes and its port programs at once, and the kernel reaps them all; killed from outside
  # a namespace they would be orphans that PID 1 here never reaps. Without unshare (not root),
  # stop falls back to the pid file and `epmd -kill`.
  if unshare --pid --fork --kill-child true 2>/dev/null; then
    pid_namespace=(unshare --pid --fork --kill-child)
  fi
  _ebb_rabbitmq_dir=$d
  _ebb_epmd_port=$epmd
  # Run the server script directly as root with its own HOME: /usr/sbin/rabbitmq-server would
  # switch to the rabbitmq user, and a shared HOME would share the Erlang cookie.
  _ebb_spawn rabbitmq "$d/rabbitmq.log" "${pid_namespace[@]}" env HOME="$d" \
    RABBITMQ_NODENAME=ebb-test@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$amqp" RABBITMQ_DIST_PORT="$dist" \
    RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" RABBITMQ_LOGS=- \
    RABBITMQ_CONFIG_FILE="$d/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
    RABBITMQ_PID_FILE="$d/rabbit.pid" ERL_EPMD_PORT="$epmd" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    /usr/lib/rabbitmq/bin/rabbitmq-server
  if ((${#pid_namespace[@]} > 0)); then _ebb_rabbitmq_in_namespace=1; fi
  EBB_TEST_RABBITMQ_AMQP_PORT=$amqp
  EBB_TEST_RABBITMQ_HTTP_PORT=$http
  EBB_TEST_RABBITMQ_AMQPS_PORT=$amqps
  EBB_TEST_RABBITMQ_HTTPS_PORT=$https
  EBB_TEST_RABBITMQ_CA_FILE=$tls/ca.crt
  EBB_TEST_RABBITMQ_CLIENT_CERT_FILE=$tls/client.crt
  EBB_TEST_RABBITMQ_CLIENT_KEY_FILE=$tls/client.key
  EBB_TEST_RABBITMQ_CERT_USER=ebb-test-cert-user
}

# The TLS listeners open together with the plain ones, late in the boot; each must complete a
# verified handshake (AMQPS with the client certificate, which the broker verifies too).
_ebb_rabbitmq_ready() {
  curl -sf -u guest:guest "http://127.0.0.1:$EBB_TEST_RABBITMQ_HTTP_PORT/api/overview" >/dev/null &&
    _ebb_port_open "$EBB_TEST_RABBITMQ_AMQP_PORT" &&
    curl -sf --cacert "$EBB_TEST_RABBITMQ_CA_FILE" -u guest:guest \
      "https://127.0.0.1:$EBB_TEST_RABBITMQ_HTTPS_PORT/api/overview" >/dev/null &&
    openssl s_client -connect "127.0.0.1:$EBB_TEST_RABBITMQ_AMQPS_PORT" -verify_return_error \
      -CAfile "$EBB_TEST_RABBITMQ_CA_FILE" -verify_ip 127.0.0.1 -cert "$EBB_TEST_RABBITMQ_CLIENT_CERT_FILE" \
      -key "$EBB_TEST_RABBITMQ_CLIENT_KEY_FILE" </dev/null >/dev/null 2>&1
}

# A dedicated administrator with a password, so tests exercise real credentials; guest stays.
# Also the user of the client certificate.
_ebb_rabbitmq_add_user() {
  local api="http://127.0.0.1:$EBB_TEST_RABBITMQ_HTTP_PORT/api"
  EBB_TEST_RABBITMQ_USER=ebb-test
  EBB_TEST_RABBITMQ_PASSWORD=ebb-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  curl -sSf -u guest:guest -X PUT -H 'content-type: application/json' \
    -d "{\"password\":\"$EBB_TEST_RABBITMQ_PASSWORD\",\"tags\":\"administrator\"}" \
    "$api/users/$EBB_TEST_RABBITMQ_USER" &&
    curl -sSf -u guest:guest -X PUT -H 'content-type: application/json' \
      -d '{"configure":".*","write":".*","read":".*"}' \
      "$api/permissions/%2F/$EBB_TEST_RABBITMQ_USER" &&
    # The client certificate's user: no password, so only SASL EXTERNAL can log it in.
    curl -sSf -u guest:guest -X PUT -H 'content-type: application/json' \
      -d '{"password_hash":"","tags":""}' "$api/users/$EBB_TEST_RABBITMQ_CERT_USER" &&
    curl -sSf -u guest:guest -X PUT -H 'content-type: application/json' \
      -d '{"configure":".*","write":".*","read":".*"}' \
      "$api/permissions/%2F/$EBB_TEST_RABBITMQ_CERT_USER"
}

_ebb_start_kafka() {
  local d=$1 bin=$2
  local -a topics
  read -ra topics <<<"${EBB_KAFKA_MOCK_TOPICS:-orders:3}"
  if [[ ! -x $bin ]]; then
    _ebb_say "kafka mock: $bin is missing; build the kafka_mock_server target first"
    return 1
  fi
  mkdir -p "$d" && rm -f "$d/bootstrap" || return 1
  _ebb_spawn kafka "$d/kafka.log" "$bin" 3 "$d/bootstrap" "${topics[@]}"
}

_ebb_start_redis_cluster() {
  local d=$1 i p bus
  local -a args ports=()
  for i in 1 2 3; do
    _ebb_pick_port p && _ebb_pick_port bus || return 1
    mkdir -p "$d/$i" || return 1
    mapfile -t args < <(_ebb_redis_args "$p" "$d/$i")
    _ebb_spawn "redis-cluster-$i" "$d/$i/redis.log" redis-server "${args[@]}" \
      --cluster-enabled yes --cluster-port "$bus" --cluster-config-file nodes.conf \
      --cluster-node-timeout 2000
    ports+=("$p")
  done
  EBB_TEST_REDIS_CLUSTER_PORTS=$(IFS=,; echo "${ports[*]}")
}

_ebb_cluster_ok() {
  local p
  for p in ${EBB_TEST_REDIS_CLUSTER_PORTS//,/ }; do
    redis-cli -p "$p" cluster info | grep -q '^cluster_state:ok' || return 1
  done
}

_ebb_create_redis_cluster() {
  local d=$1 i p
  local -a nodes=()
  i=1
  for p in ${EBB_TEST_REDIS_CLUSTER_PORTS//,/ }; do
    _ebb_wait "redis-cluster-$i" 20 redis-cli -p "$p" ping || return 1
    nodes+=("127.0.0.1:$p")
    ((i++))
  done
  if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    </dev/null >"$d/create.log" 2>&1; then
    _ebb_say "redis cluster: 'redis-cli --cluster create' failed; $d/create.log:"
    tail -n 30 "$d/create.log" >&2
    return 1
  fi
}

_ebb_start_redis_sentinel() {
  local d=$1 master replica sentinel
  local -a args
  _ebb_pick_port master && _ebb_pick_port replica && _ebb_pick_port sentinel || return 1
  mkdir -p "$d/master" "$d/replica" "$d/sentinel" || return 1
  # No delay before a diskless full sync: the replica links in ~0.1 s instead of ~5 s.
  mapfile -t args < <(_ebb_redis_args "$master" "$d/master")
  _ebb_spawn redis-master "$d/master/redis.log" redis-server "${args[@]}" --repl-diskless-sync-delay 0
  mapfile -t args < <(_ebb_redis_args "$replica" "$d/replica")
  _ebb_spawn redis-replica "$d/replica/redis.log" redis-server "${args[@]}" \
    --replicaof 127.0.0.1 "$master"
  # Sentinel rewrites its config file, so it must be ours and writable. A 5 s down-after keeps a
  # busy machine from triggering a failover that would move the master the env file names.
  cat >"$d/sentinel/sentinel.conf" <<EOF
bind 127.0.0.1
port $sentinel
dir $d/sentinel
logfile ""
sentinel monitor mymaster 127.0.0.1 $master 1
sentinel down-after-milliseconds mymaster 5000
EOF
  _ebb_spawn redis-sentinel "$d/sentinel/sentinel.log" redis-sentinel "$d/sentinel/sentinel.conf"
  EBB_TEST_REDIS_SENTINEL_PORT=$sentinel
  EBB_TEST_REDIS_SENTINEL_MASTER=mymaster
  EBB_TEST_REDIS_SENTINEL_MASTER_PORT=$master
  _ebb_replica_port=$replica
}

_ebb_sentinel_ready() {
  [[ $(redis-cli -p "$EBB_TEST_REDIS_SENTINEL_PORT" sentinel get-master-addr-by-name mymaster | tail -n 1) == \
    "$EBB_TEST_REDIS_SENTINEL_MASTER_PORT" ]]
}

_ebb_replica_linked() {
  redis-cli -p "$1" info replication | grep -q '^master_link_status:up'
}

# ebb_servers_start STATE_DIR ENV_FILE [KAFKA_MOCK_BIN]
ebb_servers_start() {
  local state=${1:?usage: ebb_servers_start <state-dir> <env-file> [kafka_mock_server]}
  local env_file=${2:?usage: ebb_servers_start <state-dir> <env-file> [kafka_mock_server]}
  local kafka_bin=${3:-${EBB_KAFKA_MOCK_BIN:-$(dirname "$env_file")/bin/kafka_mock_server}}
  mkdir -p "$state" && state=$(cd "$state" && pwd) || return 1
  # Leftovers of an earlier run (a cluster node's nodes.conf, a Mnesia database) break this one.
  rm -rf "$state/rabbitmq" "$state/kafka" "$state/redis-cluster" "$state/redis-sentinel" "$env_file"

  # RabbitMQ first: it takes ~8 s, and everything else starts while it boots.
  _ebb_start_rabbitmq "$state/rabbitmq" || return 1
  if [[ $kafka_bin != none ]]; then _ebb_start_kafka "$state/kafka" "$kafka_bin" || return 1; fi
  _ebb_start_redis_cluster "$state/redis-cluster" || return 1
  _ebb_start_redis_sentinel "$state/redis-sentinel" || return 1

  EBB_TEST_KAFKA_BOOTSTRAP=""
  if [[ $kafka_bin != none ]]; then
    _ebb_wait kafka 20 test -s "$state/kafka/bootstrap" || return 1
    EBB_TEST_KAFKA_BOOTSTRAP=$(head -n 1 "$state/kafka/bootstrap")
  fi
  _ebb_create_redis_cluster "$state/redis-cluster" || return 1
  _ebb_wait redis-sentinel 20 _ebb_sentinel_ready || return 1
  _ebb_wait redis-replica 20 _ebb_replica_linked "$_ebb_replica_port" || return 1
  _ebb_wait redis-cluster-1 20 _ebb_cluster_ok || return 1
  _ebb_wait rabbitmq 90 _ebb_rabbitmq_ready || return 1
  _ebb_rabbitmq_add_user >/dev/null || { _ebb_say "rabbitmq: could not create the test user"; return 1; }

  local tmp="$env_file.tmp"
  {
    echo "# Written by tests/servers.sh; read by tests/support (shared_servers())."
    echo "EBB_TEST_RABBITMQ_AMQP_PORT=$EBB_TEST_RABBITMQ_AMQP_PORT"
    echo "EBB_TEST_RABBITMQ_HTTP_PORT=$EBB_TEST_RABBITMQ_HTTP_PORT"
    echo "EBB_TEST_RABBITMQ_USER=$EBB_TEST_RABBITMQ_USER"
    echo "EBB_TEST_RABBITMQ_PASSWORD=$EBB_TEST_RABBITMQ_PASSWORD"
    echo "EBB_TEST_RABBITMQ_AMQPS_PORT=$EBB_TEST_RABBITMQ_AMQPS_PORT"
    echo "EBB_TEST_RABBITMQ_HTTPS_PORT=$EBB_TEST_RABBITMQ_HTTPS_PORT"
    echo "EBB_TEST_RABBITMQ_CA_FILE=$EBB_TEST_RABBITMQ_CA_FILE"
    echo "EBB_TEST_RABBITMQ_CLIENT_CERT_FILE=$EBB_TEST_RABBITMQ_CLIENT_CERT_FILE"
    echo "EBB_TEST_RABBITMQ_CLIENT_KEY_FILE=$EBB_TEST_RABBITMQ_CLIENT_KEY_FILE"
    echo "EBB_TEST_RABBITMQ_CERT_USER=$EBB_TEST_RABBITMQ_CERT_USER"
    echo "EBB_TEST_KAFKA_BOOTSTRAP=$EBB_TEST_KAFKA_BOOTSTRAP"
    echo "EBB_TEST_REDIS_CLUSTER_PORTS=$EBB_TEST_REDIS_CLUSTER_PORTS"
    echo "EBB_TEST_REDIS_SENTINEL_PORT=$EBB_TEST_REDIS_SENTINEL_PORT"
    echo "EBB_TEST_REDIS_SENTINEL_MASTER=$EBB_TEST_REDIS_SENTINEL_MASTER"
    echo "EBB_TEST_REDIS_SENTINEL_MASTER_PORT=$EBB_TEST_REDIS_SENTINEL_MASTER_PORT"
  } >"$tmp" && mv "$tmp" "$env_file" && _ebb_env_file=$env_file
}

# Stops every server we started and reaps it. Safe to call twice, or when start failed half-way.
ebb_servers_stop() {
  local warnings
  exec {warnings}>&2
  # bash reports a killed job ("Killed ...") on stderr whenever it notices, even after the
  # caller's last line; reaping every server in here with stderr muted keeps that quiet.
  _ebb_stop_all "$warnings" 2>/dev/null
  exec {warnings}>&-
}

_ebb_stop_all() {
  local warnings=$1 name pid child beam deadline
  # A stale env file would send a later `ctest` to dead ports instead of a clear "not running".
  if [[ -n $_ebb_env_file ]]; then rm -f "$_ebb_env_file"; fi
  _ebb_env_file=""
  # RabbitMQ's graceful stop takes ~6 s and nothing it holds is worth keeping: kill the VM.
  if [[ -n ${_ebb_server_pid[rabbitmq]:-} ]]; then
    pid=${_ebb_server_pid[rabbitmq]}
    if [[ -z $_ebb_rabbitmq_in_namespace ]]; then
      beam=$(cat "$_ebb_rabbitmq_dir/rabbit.pid" || true)
      if [[ -n $beam ]]; then kill -KILL "$beam" || true; fi
    fi
    # Kill the launcher's child (the namespace's init, whose death makes the kernel kill and reap
    # everything in it; or the VM itself) until the launcher, which reaps it, exits by itself.
    # Killing the launcher instead would leave its child an orphan that nobody reaps. Looping
    # covers a stop right after start, before the launcher has forked.
    deadline=$((SECONDS + 5))
    while _ebb_alive "$pid" && ((SECONDS < deadline)); do
      for child in $(ps -o pid= --ppid "$pid"); do kill -KILL "$child" || true; done
      sleep 0.05
    done
    if [[ -z $_ebb_rabbitmq_in_namespace ]]; then
      # epmd refuses to stop ("living nodes in database") until it notices the VM is gone.
      deadline=$((SECONDS + 5))
      until [[ $(epmd -port "$_ebb_epmd_port" -kill 2>&1) == Killed ]] || ((SECONDS >= deadline)); do
        sleep 0.1
      done
    fi
  fi
  for name in "${!_ebb_server_pid[@]}"; do
    [[ $name == rabbitmq ]] && continue
    kill -TERM "${_ebb_server_pid[$name]}" || true
  done
  deadline=$((SECONDS + 5))
  for name in "${!_ebb_server_pid[@]}"; do
    pid=${_ebb_server_pid[$name]}
    while _ebb_alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    if _ebb_alive "$pid"; then
      echo "servers: $name (pid $pid) ignored SIGTERM for 5 s; killing it" >&"$warnings"
      kill -KILL "$pid" || true
    fi
    wait "$pid" || true
  done
  _ebb_server_pid=()
  _ebb_server_log=()
  _ebb_used_ports=()
  _ebb_epmd_port=""
  _ebb_rabbitmq_dir=""
  _ebb_rabbitmq_in_namespace=""
}
