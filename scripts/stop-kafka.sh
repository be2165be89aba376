#!/usr/bin/env bash
# Stops the broker scripts/start-kafka.sh started (its data stays in var/kafka for the next start).
exec bash "$(dirname "$0")/start-kafka.sh" --stop
