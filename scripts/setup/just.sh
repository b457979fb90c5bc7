#!/usr/bin/env bash
# Set-up part: the `just` command runner, from the PyPI wheel rust-just (the npm package's
# per-platform binaries are not all on the registry here, which made the lockfile fail `npm ci`).
# Linked as node_modules/.bin/just, so `npx just RECIPE` works. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/setup/lib.sh
VERSION="1.59.0"
VENV="$VO_CACHE/venv-just"

if [[ ! -x "$VENV/bin/just" || "$("$VENV/bin/just" --version 2>/dev/null)" != "just $VERSION" ]]; then
  command -v python3 >/dev/null || fail "python3 is missing: install python3 and python3-venv (apt) and re-run"
  [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV" || fail "python3 -m venv failed: install python3-venv (apt) and re-run"
  say "installing rust-just==$VERSION from PyPI"
  "$VENV/bin/pip" install --disable-pip-version-check -q "rust-just==$VERSION" || fail "pip install rust-just failed (PyPI reachable?)"
fi
mkdir -p node_modules/.bin
ln -sfn "$VENV/bin/just" node_modules/.bin/just
say "$("$VENV/bin/just" --version) -> npx just"
