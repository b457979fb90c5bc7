# Shared helpers for the set-up parts (sourced).
VO_CACHE="${VO_CACHE:-$HOME/.cache/voice-orchestrator}"

VO_SETUP_PART="$(basename "$0" .sh)"
say() { printf '[setup:%s] %s\n' "$VO_SETUP_PART" "$*"; }
fail() { printf '[setup:%s] ERROR: %s\n' "$VO_SETUP_PART" "$*" >&2; exit 1; }
die() { fail "$@"; }

need_root() {
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=sudo
    else
      die "$1 needs root. Run this set-up as root (or with passwordless sudo), or install by hand: $2"
    fi
  else
    SUDO=""
  fi
}

# Succeeds when a Debian package is installed.
have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
