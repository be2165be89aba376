#!/bin/sh
# npm run slo:check (part of npm test): the SLO recording rules and burn-rate alerts in
# deploy/prometheus are valid (promtool check rules) and fire as their tests say (promtool test rules).
set -eu
cd "$(dirname "$0")/../deploy/prometheus"
if ! command -v promtool >/dev/null 2>&1; then
  echo "slo:check: promtool not found; it comes with Debian's prometheus package (apt-get install prometheus)" >&2
  exit 1
fi
promtool check rules gateway-slo.rules.yml
promtool test rules gateway-slo.test.yml
