#!/usr/bin/env bash
# One idempotent set-up for a fresh Debian machine: system packages, npm dependencies, the web page,
# the LiveKit server, voices, the local models and the test peers. Downloads are cached in $VO_CACHE (outside the clone).
#   scripts/setup.sh            everything the service and the tests need
#   scripts/setup.sh --runtime  only what running the service needs (no test peers)
set -euo pipefail
cd "$(dirname "$0")/.."
export VO_CACHE="${VO_CACHE:-$HOME/.cache/voice-orchestrator}"
export ONNXRUNTIME_NODE_INSTALL=skip
mkdir -p "$VO_CACHE"

profile=all
[[ "${1:-}" == "--runtime" ]] && profile=runtime

# web: the page (dist/web) is built here and in the Docker build, never by the running service
# (its bundler, esbuild, is a dev dependency). Rebuilt only when missing or older than its sources.
# onnxruntime: onnxruntime 1.32 under onnxruntime-node (faster Piper; scripts/setup/onnxruntime.sh).
# llm, moonshine: the local language model and speech-to-text the agent uses when no provider is configured;
# whisper: the other local speech-to-text model (LOCAL_STT_MODEL=ggml-tiny.en.bin).
runtime_parts=(apt npm onnxruntime web just livekit voices llm moonshine whisper)
test_parts=(piper-ref sherpa-voice stt wyoming k8s-validate)
parts=("${runtime_parts[@]}")
[[ "$profile" == all ]] && parts+=("${test_parts[@]}")

for part in "${parts[@]}"; do
  script="scripts/setup/$part.sh"
  [[ "$part" == web ]] && script=scripts/build-web.ts
  if [[ ! -f "$script" ]]; then
    echo "setup: part '$part' is missing ($script)" >&2
    exit 1
  fi
  start=$SECONDS
  echo "==> setup: $part"
  if [[ "$part" == web ]]; then
    npx tsx scripts/build-web.ts --if-stale
  else
    bash "$script" "$profile"
  fi
  echo "    done: $part ($((SECONDS - start)) s)"
done

# The default VOICES_DIR (voices/) and MODELS_DIR (models/) point at the shared download cache, so clones reuse downloads.
for dir in voices models; do
  if [[ ! -e $dir && ! -L $dir ]]; then
    ln -s "$VO_CACHE/$dir" "$dir"
    echo "    linked $dir/ -> the download cache"
  fi
done

# When the configured default voice could not be installed, select the voice set-up always provides.
default_voice="$(npx tsx src/config/check.ts --get TTS_VOICE 2>/dev/null || true)"
voices_dir="$(npx tsx src/config/check.ts --get VOICES_DIR 2>/dev/null || echo voices)"
if [[ -n "$default_voice" && ! -f "$voices_dir/$default_voice.onnx" && -f "$voices_dir/en_US-joe-medium.onnx" ]] \
  && ! grep -qs '^TTS_VOICE=' .env .env.local && [[ -z "${TTS_VOICE:-}" ]]; then
  printf '# Written by scripts/setup.sh: %s could not be installed here.\nTTS_VOICE=en_US-joe-medium\n' "$default_voice" >> .env.local
  echo "    note: voice $default_voice is not installed; selected en_US-joe-medium in .env.local" \
       "(install it with: npm run voices -- download $default_voice)"
fi
