#!/usr/bin/env bash
# Set-up part: the Wyoming test peer. A Python venv with the PyPI `wyoming` package (Home
# Assistant's protocol library); scripts/peers/wyoming_client.py drives our Wyoming server with its
# client. Idempotent.
set -euo pipefail

WYOMING_VERSION="1.10.2"
source "$(dirname "$0")/lib.sh"
VENV="$VO_CACHE/venv-wyoming"
STAMP="$VENV/.vo-installed"
WANT="wyoming==$WYOMING_VERSION"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
  say "already installed ($WANT)"
  exit 0
fi

command -v python3 >/dev/null || fail "python3 is missing: install python3 and python3-venv (apt) and re-run"
start=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating venv \$VO_CACHE/venv-wyoming"
  python3 -m venv "$VENV" || fail "python3 -m venv failed: install python3-venv (apt) and re-run"
fi
say "installing $WANT"
"$VENV/bin/pip" install --disable-pip-version-check --quiet "$WANT" \
  || fail "pip install failed (PyPI reachable?); re-run to resume"
"$VENV/bin/python" -c "import wyoming.client, wyoming.tts; print('[setup:wyoming] wyoming', '$WYOMING_VERSION', 'imports')" \
  || fail "the wyoming package does not import: see the error above"
echo "$WANT" > "$STAMP"
say "ready in $(( $(date +%s) - start )) s"
