#!/usr/bin/env bash
# Start/stop/inspect the real test services (Kafka, NATS, Elasticsearch) by hand.
#   eval "$(bash scripts/services.sh start)"   # starts detached servers, exports their URLs
#   bash scripts/services.sh status
#   bash scripts/services.sh stop
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x node_modules/.bin/tsx ] || { echo "services.sh: node_modules missing, run npm ci first" >&2; exit 1; }
exec node_modules/.bin/tsx test/harness/cli.ts "$@"
