#!/usr/bin/env bash
# Starts the single-node Kafka broker (KRaft: one process is broker and controller) that the event
# relay and its test use, unless it is already running, and returns once it answers. Idempotent: CI
# and developers may call it repeatedly. `--stop` stops it (scripts/stop-kafka.sh calls that).
#
# The broker comes from Maven Central, not from a tarball: a generated pom names
# org.apache.kafka:kafka_2.13 and Maven copies it with its runtime dependencies into var/kafka/libs,
# once (the jars are cached there and in ~/.m2). Everything else lives in var/kafka: config, the log
# directory (formatted with a fresh random cluster id on first start), the process id and its output.
#
# Environment (defaults next to each):
#   KAFKA_VERSION   3.9.1            the kafka_2.13 version fetched (the 3.9 line: kafkajs 2.2 speaks to it)
#   KAFKA_PORT      9092             the PLAINTEXT listener on 127.0.0.1, the bootstrap address
#   KAFKA_CONTROLLER_PORT 9093       the KRaft controller listener on 127.0.0.1
#   KAFKA_HOME      var/kafka        where the jars, config, data and logs go
set -euo pipefail
cd "$(dirname "$0")/.."

version="${KAFKA_VERSION:-3.9.1}"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
home="${KAFKA_HOME:-$PWD/var/kafka}"
libs="$home/libs-$version"
pid_file="$home/broker.pid"
wait_s_max=60

running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

# The listener answers a TCP connection only once the broker is up (bash's /dev/tcp, no client needed).
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if [[ "${1:-}" == "--stop" ]]; then
  if running; then
    pid="$(cat "$pid_file")"
    kill "$pid"
    for _ in $(seq 1 "$wait_s_max"); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "start-kafka: stopped"
  else
    echo "start-kafka: not running"
  fi
  rm -f "$pid_file"
  exit 0
fi

if running && answers; then
  echo "start-kafka: already running"
  echo "start-kafka: ready on 127.0.0.1:$port"
  exit 0
fi
if answers; then
  # Another checkout's broker, say: used as it is (a test that kills the broker needs this one's).
  echo "start-kafka: 127.0.0.1:$port already answers, but not a broker started from $home; using it"
  echo "start-kafka: ready on 127.0.0.1:$port"
  exit 0
fi

mkdir -p "$home"
if [[ ! -f "$libs/.complete" ]]; then
  echo "start-kafka: fetching org.apache.kafka:kafka_2.13:$version and its dependencies with Maven"
  mkdir -p "$libs"
  # The 3.x broker logs through slf4j 1.7; the distribution binds it to reload4j, as here.
  logging=""
  [[ "$version" == 3.* ]] && logging="<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>"
  cat >"$home/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.fps-gateway</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$version</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-storage</artifactId>
      <version>$version</version>
    </dependency>
    $logging
  </dependencies>
</project>
EOF
  mvn -q -B -f "$home/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs"
  touch "$libs/.complete"
fi

config="$home/server.properties"
data="$home/data"
cat >"$config" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# After a kill the restarted broker cannot register until its old session expires (default 9 s).
broker.session.timeout.ms=2000
broker.heartbeat.interval.ms=500
auto.create.topics.enable=true
EOF

# Quiet console logging; the broker's own log goes to var/kafka/broker.out.
cat >"$home/log4j2.properties" <<EOF
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
EOF
cat >"$home/log4j.properties" <<EOF
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
EOF

jvm=(java -Xms256m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Xshare:auto
  "-Dlog4j2.configurationFile=$home/log4j2.properties" "-Dlog4j.configuration=file:$home/log4j.properties"
  -cp "$libs/*")

if [[ ! -f "$data/meta.properties" ]]; then
  # A cluster id is 16 random bytes in URL-safe base64 without padding (what `random-uuid` prints).
  # One that starts with '-' would be read as an option by the tool, so the first character is a letter.
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | sed 's/^[-_0-9]/A/')"
  echo "start-kafka: formatting $data with cluster id $cluster_id"
  # The controller quorum is static (controller.quorum.voters), so no --standalone.
  "${jvm[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" >"$home/format.out" 2>&1 ||
    { cat "$home/format.out" >&2; exit 1; }
fi

echo "start-kafka: starting Kafka $version"
nohup "${jvm[@]}" kafka.Kafka "$config" >"$home/broker.out" 2>&1 </dev/null &
echo $! >"$pid_file"

for _ in $(seq 1 $((wait_s_max * 5))); do
  answers && break
  running || { echo "start-kafka: the broker exited; see $home/broker.out" >&2; tail -20 "$home/broker.out" >&2; exit 1; }
  sleep 0.2
done
answers || { echo "start-kafka: no answer on 127.0.0.1:$port after ${wait_s_max}s" >&2; exit 1; }
echo "start-kafka: ready on 127.0.0.1:$port"
