#!/usr/bin/env bash
# Debian packages: espeak-ng (phonemes for Piper), sox, python3-venv (set-up tools); for tests: pocketsphinx (recognizer),
# flite (speech input), chromium (browser tests), libmpg123 (decodes the mp3 the speech API sends).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
profile="${1:-all}"

packages=(libespeak-ng1 espeak-ng-data sox python3-venv)
[[ "$profile" == all ]] && packages+=(pocketsphinx pocketsphinx-en-us flite chromium unzip docker-compose libmpg123-0)

missing=()
for p in "${packages[@]}"; do have_deb "$p" || missing+=("$p"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "    Debian packages present: ${packages[*]}"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install these packages with your system's package manager: ${missing[*]}"
need_root "installing Debian packages" "apt-get install ${missing[*]}"
echo "    installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || die "apt-get update failed: check the network or your Debian mirrors"
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || die "apt-get install failed for: ${missing[*]}"
