#!/usr/bin/env bash
# npm dependencies, exactly as the lockfile pins them (npm ci). onnxruntime-node's postinstall
# would fetch CUDA libraries from the internet; the CPU runtime ships inside the package, so it is
# skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ONNXRUNTIME_NODE_INSTALL=skip
stamp=node_modules/.voice-orchestrator-lock
if [[ -f "$stamp" ]] && cmp -s package-lock.json "$stamp"; then
  echo "    node_modules up to date"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error || { echo "setup: npm ci failed: check access to the npm registry" >&2; exit 1; }
cp package-lock.json "$stamp"
