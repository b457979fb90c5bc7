#!/usr/bin/env bash
# Set-up part: onnxruntime 1.32's CPU library for the npm package onnxruntime-node, whose newest release (1.30 here)
# ships onnxruntime 1.30. 1.32 runs the Piper voices about 12 % faster on this kind of machine (one inference of a
# sentence: 143-153 ms against 166-175 ms, the same session options), and Silero's VAD with them.
#  - the library: the official build inside the PyPI wheel onnxruntime==1.32.0 (MIT), pinned by sha256, wheel and file;
#  - onnxruntime's C API is backward compatible (a binding asks the library for the API version it was built with),
#    but the binding's link records the release it was linked against as a symbol-version tag (VERS_1.30.0): that one
#    tag is renamed to 1.32's (elf-version-tag.ts), nothing else changes;
#  - then the library must load and run a model in Node, or the package's own files are put back (a warning, not a
#    failure: everything works with 1.30, a little slower).
# Linux x86-64 only. The first phase (the library into $VO_CACHE) needs python3 and pip; the second needs node_modules
# (it is skipped without). Idempotent; an npm reinstall of the package undoes it and the next set-up redoes it.
set -euo pipefail

ORT_VERSION="1.32.0"
ORT_LINKED="1.30.0"
WHEEL_NAME="onnxruntime-$ORT_VERSION-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256="5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d"
LIB_SHA256="6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f"
source "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHED="$VO_CACHE/onnxruntime-$ORT_VERSION"
PKG="$REPO/node_modules/onnxruntime-node"
BIN="$PKG/bin/napi-v6/linux/x64"

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  say "not Linux x86-64: onnxruntime-node keeps its own library"
  exit 0
fi

# --- phase 1: the library, from the wheel
if [[ -f "$CACHED/libonnxruntime.so.1" ]] && echo "$LIB_SHA256  $CACHED/libonnxruntime.so.1" | sha256sum -c --status; then
  say "onnxruntime $ORT_VERSION library present"
else
  command -v python3 >/dev/null || fail "python3 is missing: install python3 (apt) and re-run"
  wheel="$(pinned_wheel "onnxruntime==$ORT_VERSION" "$WHEEL_NAME" "$WHEEL_SHA256" "28 MB" --platform manylinux_2_28_x86_64 --python-version 3.11)"
  mkdir -p "$VO_CACHE"
  work="$(mktemp -d "$VO_CACHE/.onnxruntime-setup.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  python3 - "$wheel" "$work" "$ORT_VERSION" <<'PY' || fail "could not extract the library from the wheel"
import sys, zipfile
wheel, out, version = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    for member, name in ((f'onnxruntime/capi/libonnxruntime.so.{version}', 'libonnxruntime.so.1'), ('onnxruntime/LICENSE', 'LICENSE'), ('onnxruntime/ThirdPartyNotices.txt', 'ThirdPartyNotices.txt')):
        with z.open(member) as src, open(f'{out}/{name}', 'wb') as dst:
            dst.write(src.read())
PY
  echo "$LIB_SHA256  $work/libonnxruntime.so.1" | sha256sum -c --status || fail "the library in $WHEEL_NAME does not match its checksum"
  rm -rf "$CACHED"
  mv "$work" "$CACHED"
  trap - EXIT
  say "onnxruntime $ORT_VERSION library extracted"
fi

# --- phase 2: under onnxruntime-node
if [[ ! -f "$PKG/package.json" ]]; then
  say "note: onnxruntime-node is not installed yet (the npm part installs it); library cached only"
  exit 0
fi
[[ -f "$BIN/onnxruntime_binding.node" && -f "$BIN/libonnxruntime.so.1" ]] || fail "onnxruntime-node has no Linux x64 runtime in $BIN: reinstall it (rm -rf node_modules; npm run setup)"
WANT="$ORT_VERSION $LIB_SHA256 $(sha256sum "$HERE/elf-version-tag.ts" | cut -c1-16)"
if [[ -f "$BIN/.vo-onnxruntime" && "$(cat "$BIN/.vo-onnxruntime")" == "$WANT" ]]; then
  say "already installed (onnxruntime $ORT_VERSION under onnxruntime-node)"
  exit 0
fi
# the package's own files, kept once: what a failed check puts back
mkdir -p "$BIN/npm-original"
for f in onnxruntime_binding.node libonnxruntime.so.1; do
  [[ -f "$BIN/npm-original/$f" ]] || cp "$BIN/$f" "$BIN/npm-original/$f"
done
restore() { cp "$BIN/npm-original/onnxruntime_binding.node" "$BIN/npm-original/libonnxruntime.so.1" "$BIN/"; }

cp "$BIN/npm-original/onnxruntime_binding.node" "$BIN/onnxruntime_binding.node.new"
if ! (cd "$REPO" && npx tsx "$HERE/elf-version-tag.ts" "$BIN/onnxruntime_binding.node.new" "VERS_$ORT_LINKED" "VERS_$ORT_VERSION"); then
  rm -f "$BIN/onnxruntime_binding.node.new"
  say "WARNING: onnxruntime-node's binding is not the one this part knows (linked against $ORT_LINKED): it keeps its own library" >&2
  exit 0
fi
mv "$BIN/onnxruntime_binding.node.new" "$BIN/onnxruntime_binding.node"
cp "$CACHED/libonnxruntime.so.1" "$BIN/libonnxruntime.so.1"

say "checking onnxruntime $ORT_VERSION loads and runs a model in Node"
model="$REPO/node_modules/@livekit/agents-plugin-silero/dist/silero_vad.onnx"
if ! out="$(cd "$REPO" && node --input-type=module - "$model" 2>&1 <<'JS'
import { createRequire } from 'node:module';
const ort = createRequire(process.cwd() + '/')('onnxruntime-node');
const session = await ort.InferenceSession.create(process.argv[2], { executionProviders: ['cpu'], logSeverityLevel: 3 });
const result = await session.run({
  input: new ort.Tensor('float32', new Float32Array(576), [1, 576]),
  state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]),
  sr: new ort.Tensor('int64', BigInt64Array.of(16000n)),
});
if (!(result.output.data.length === 1)) throw new Error('unexpected output');
JS
)"; then
  printf '%s\n' "$out" | tail -5 >&2
  restore
  say "WARNING: onnxruntime $ORT_VERSION did not run under onnxruntime-node (see above): it keeps its own library" >&2
  exit 0
fi
echo "$WANT" > "$BIN/.vo-onnxruntime"
say "onnxruntime-node now runs onnxruntime $ORT_VERSION"
