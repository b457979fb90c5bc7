# Shared by scripts/containers/*.sh (sourced): podman through this project's containers.conf, logging.
VO_CACHE="${VO_CACHE:-$HOME/.cache/voice-orchestrator}"
VO_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# runc, host networking and explicit ulimits for every podman command (and podman-compose's).
export CONTAINERS_CONF="$VO_REPO/scripts/containers/containers.conf"
VO_CT_PART="$(basename "$0" .sh)"
say() { printf '[containers:%s] %s\n' "$VO_CT_PART" "$*"; }
fail() { printf '[containers:%s] ERROR: %s\n' "$VO_CT_PART" "$*" >&2; exit 1; }

# The image tag: the package version, never `latest` (deploy/k8s pins the same tag).
vo_image_tag() { echo "voice-orchestrator:$(node -p "require('$VO_REPO/package.json').version")"; }

# Runs a command as root (directly, or through passwordless sudo), or fails naming what to run by hand.
as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  else fail "needs root: run as root (or with passwordless sudo), or run by hand: $*"
  fi
}
