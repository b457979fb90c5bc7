#!/usr/bin/env bash
# Set-up part (tests and benchmarks only): the reference Python Piper in $VO_CACHE/venv-ref.
# piper-tts 1.8.0 is the speed baseline of `npm run bench:tts`; piper-phonemize 1.1.0 made the golden
# phoneme ids (scripts/fixtures/golden-ids.sh) and ships Piper's own espeak-ng build, which
# test/tts/golden-piper-lib.test.ts loads. Idempotent.
set -euo pipefail

WANT="piper-tts==1.8.0 piper-phonemize==1.1.0"
source "$(dirname "$0")/lib.sh"
VENV="$VO_CACHE/venv-ref"
STAMP="$VENV/.vo-installed"


if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
  say "already installed ($WANT)"
  exit 0
fi
command -v python3 >/dev/null || fail "python3 is missing: install python3 and python3-venv (apt) and re-run"
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating venv \$VO_CACHE/venv-ref"
  python3 -m venv "$VENV" || fail "python3 -m venv failed: install python3-venv (apt) and re-run"
fi
say "installing $WANT (about 60 MB of wheels)"
"$VENV/bin/pip" install --disable-pip-version-check --progress-bar on $WANT \
  || fail "pip install failed (PyPI reachable?); re-run to resume"
"$VENV/bin/python" -c 'import piper, piper_phonemize; from piper import PiperVoice' \
  || fail "the reference Piper does not import: see the error above"
ls "$VENV"/lib/python3*/site-packages/piper_phonemize.libs/libespeak-ng*.so* >/dev/null 2>&1 \
  || fail "piper-phonemize has no bundled libespeak-ng (unexpected wheel); delete \$VO_CACHE/venv-ref and re-run"
echo "$WANT" > "$STAMP"
say "ready"
