#!/bin/sh
# Container entrypoint: validate ORCHESTRATOR_MODE before anything starts, say which mode runs,
# then hand the process over to the service (exec: it receives the signals and drains on SIGTERM).
set -eu
mode="${ORCHESTRATOR_MODE:-agent}"
case "$mode" in
  agent|legacy|hybrid|models) ;;
  *)
    echo "entrypoint: invalid ORCHESTRATOR_MODE '$mode'; valid modes: agent, legacy, hybrid, models" >&2
    exit 1
    ;;
esac
export ORCHESTRATOR_MODE="$mode"
echo "entrypoint: starting voice-orchestrator in $mode mode" >&2
cd "${APP_DIR:-/app}"
exec node --import tsx src/main.ts "$@"
