#!/usr/bin/env bash
# Set-up part: the Wyoming test peer. A Python venv with the PyPI `wyoming` package (Home
# Assistant's protocol library); scripts/peers/wyoming_client.py drives our Wyoming server with its
# client. Idempotent.
set -euo pipefail

WYOMING_VERSION="1.10.2"
source "$(dirname "$0")/lib.sh"
VENV="$VO_CACHE/venv-wyoming"
WANT="wyoming==$WYOMING_VERSION"

if venv_current "$VENV" "$WANT"; then
  say "already installed ($WANT)"
  exit 0
fi

start=$(date +%s)
venv_install "$VENV" "$WANT"
"$VENV/bin/python" -c "import wyoming.client, wyoming.tts; print('[setup:wyoming] wyoming', '$WYOMING_VERSION', 'imports')" \
  || fail "the wyoming package does not import: see the error above"
venv_done "$VENV" "$WANT"
say "ready in $(( $(date +%s) - start )) s"
