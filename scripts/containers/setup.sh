#!/usr/bin/env bash
# Container tools for `npm run test:containers`: Debian's podman with runc (crun fails on hybrid
# cgroups), mmdebstrap (builds the base images locally: no image registry is reachable here), and
# podman-compose from PyPI (runs docker-compose.yml on podman). Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PODMAN_COMPOSE_VERSION="1.5.0"

# golang-github-containernetworking-plugin-dnsname: compose service names resolve on podman's CNI networks (podman only
# recommends it, and recommends are not installed)
packages=(podman runc mmdebstrap docker-compose golang-github-containernetworking-plugin-dnsname)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q >/dev/null || fail "apt-get update failed"
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}" || fail "apt-get install failed for: ${missing[*]}"
fi

venv="$VO_CACHE/venv-podman-compose"
if [[ ! -x "$venv/bin/podman-compose" ]] || [[ "$("$venv/bin/podman-compose" --version 2>/dev/null | grep -oP 'podman-compose version \K\S+')" != "$PODMAN_COMPOSE_VERSION" ]]; then
  say "installing podman-compose==$PODMAN_COMPOSE_VERSION (PyPI) into \$VO_CACHE/venv-podman-compose"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" || fail "python3 -m venv failed: install python3-venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "podman-compose==$PODMAN_COMPOSE_VERSION" || fail "pip install podman-compose failed (PyPI reachable?)"
fi
say "ready: $(podman --version), runc $(runc --version | awk 'NR==1{print $3}'), podman-compose $PODMAN_COMPOSE_VERSION"
