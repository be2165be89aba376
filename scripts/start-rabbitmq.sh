#!/usr/bin/env bash
# Starts the local RabbitMQ broker the AMQP transport tests use, unless it is already running,
# and returns once it accepts connections. Idempotent: CI and developers may call it repeatedly.
set -euo pipefail

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "start-rabbitmq: rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2
  exit 1
fi

if rabbitmqctl -q status >/dev/null 2>&1; then
  echo "start-rabbitmq: already running"
else
  echo "start-rabbitmq: starting"
  rabbitmq-server -detached
fi

# A detached node takes a few seconds to register with epmd, and await_startup gives up at once on a
# node it cannot see yet, so wait for it to answer a ping first. Bounded so CI fails instead of hanging.
for _ in $(seq 1 60); do
  rabbitmqctl -q ping >/dev/null 2>&1 && break
  sleep 1
done
rabbitmqctl -q -t 120 await_startup
# Quorum queues need the feature flag; on a fresh 3.10 node it is enabled, on an upgraded one it may not be.
rabbitmqctl -q enable_feature_flag quorum_queue >/dev/null 2>&1 || true
echo "start-rabbitmq: ready on amqp://127.0.0.1:5672"
