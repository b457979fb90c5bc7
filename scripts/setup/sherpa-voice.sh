#!/usr/bin/env bash
# Set-up part (tests and benchmarks only): the benchmark voice laid out for sherpa-onnx, the second
# reference of `npm run bench:tts` (sherpa-onnx-node, an npm dev dependency, runs the SAME Piper voice).
#   $VO_CACHE/sherpa-voices/VOICE/model.onnx      the voice's .onnx plus the metadata sherpa-onnx reads
#   $VO_CACHE/sherpa-voices/VOICE/tokens.txt      built from the voice JSON's phoneme_id_map
#   $VO_CACHE/sherpa-voices/VOICE/espeak-ng-data  espeak-ng data from the piper-phonemize wheel (piper-ref part)
# by piper_to_sherpa.py (Python standard library only). VOICE: VO_BENCH_VOICE, default en_US-joe-medium
# (installed by the voices part). Idempotent: redone only when the voice files or the converter change.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/lib.sh"
VOICE="${VO_BENCH_VOICE:-en_US-joe-medium}"
SRC_MODEL="$VO_CACHE/voices/$VOICE.onnx"
SRC_CONFIG="$SRC_MODEL.json"
OUT="$VO_CACHE/sherpa-voices/$VOICE"
VENV_REF="$VO_CACHE/venv-ref"

[[ -s "$SRC_MODEL" && -s "$SRC_CONFIG" ]] \
  || fail "voice $VOICE is not in \$VO_CACHE/voices: run bash scripts/setup/voices.sh first (or download it: npm run voices -- download $VOICE)"
command -v python3 >/dev/null || fail "python3 is missing: install python3 (apt) and re-run"

# What the output was made from: the voice files (size, mtime) and the converter itself.
want="$(stat -c '%s %Y' "$SRC_MODEL" "$SRC_CONFIG" | tr '\n' ' ')$(sha256sum "$HERE/piper_to_sherpa.py" | cut -c1-16)"
if [[ -f "$OUT/.vo-source" && "$(cat "$OUT/.vo-source")" == "$want" && -s "$OUT/model.onnx" && -s "$OUT/tokens.txt" \
  && -f "$OUT/espeak-ng-data/phontab" ]]; then
  say "already prepared ($VOICE)"
  exit 0
fi

data="$(ls -d "$VENV_REF"/lib/python3*/site-packages/piper_phonemize/espeak-ng-data 2>/dev/null | head -n1 || true)"
[[ -n "$data" && -f "$data/phontab" ]] \
  || fail "no espeak-ng-data in the piper-phonemize wheel of \$VO_CACHE/venv-ref: run bash scripts/setup/piper-ref.sh first"

rm -f "$OUT/.vo-source"
mkdir -p "$OUT"
say "adding sherpa-onnx metadata to $VOICE.onnx and building tokens.txt"
python3 "$HERE/piper_to_sherpa.py" "$SRC_MODEL" "$SRC_CONFIG" "$OUT" >/dev/null \
  || fail "could not lay out $VOICE for sherpa-onnx: see the error above"
say "copying espeak-ng-data from piper-phonemize"
rm -rf "$OUT/espeak-ng-data" "$OUT/.espeak-ng-data.tmp"
cp -r "$data" "$OUT/.espeak-ng-data.tmp"
mv "$OUT/.espeak-ng-data.tmp" "$OUT/espeak-ng-data"
echo "$want" > "$OUT/.vo-source"
say "ready: \$VO_CACHE/sherpa-voices/$VOICE"
