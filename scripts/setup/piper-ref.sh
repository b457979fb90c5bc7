#!/usr/bin/env bash
# Set-up part (tests and benchmarks only): the reference Python Piper in $VO_CACHE/venv-ref.
# piper-tts 1.8.0 is the speed baseline of `npm run bench:tts`; piper-phonemize 1.1.0 made the golden
# phoneme ids (scripts/fixtures/golden-ids.sh) and ships Piper's own espeak-ng build, which
# test/tts/golden-piper-lib.test.ts loads. Idempotent.
set -euo pipefail

WANT="piper-tts==1.8.0 piper-phonemize==1.1.0"
source "$(dirname "$0")/lib.sh"
VENV="$VO_CACHE/venv-ref"

if venv_current "$VENV" "$WANT"; then
  say "already installed ($WANT)"
  exit 0
fi
venv_install "$VENV" "$WANT" "about 60 MB of wheels"
"$VENV/bin/python" -c 'import piper, piper_phonemize; from piper import PiperVoice' \
  || fail "the reference Piper does not import: see the error above"
ls "$VENV"/lib/python3*/site-packages/piper_phonemize.libs/libespeak-ng*.so* >/dev/null 2>&1 \
  || fail "piper-phonemize has no bundled libespeak-ng (unexpected wheel); delete \$VO_CACHE/venv-ref and re-run"
venv_done "$VENV" "$WANT"
say "ready"
