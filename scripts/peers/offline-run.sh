#!/usr/bin/env bash
# Runs a command with NO route off this machine: a fresh network namespace holding only loopback and a
# private veth pair (10.77.0.1/24, both ends inside the namespace). Proves a run needs nothing but
# loopback (no LiveKit Cloud, no model hub). The veth is there because WebRTC (libwebrtc in
# @livekit/rtc-node, Chromium) never gathers candidates on loopback interfaces and cannot connect
# without some other interface; traffic to it stays inside the namespace.
#   usage: scripts/peers/offline-run.sh COMMAND [ARGS...]      (needs root or unprivileged user namespaces)
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
command -v unshare >/dev/null && command -v ip >/dev/null \
  || { echo "offline-run: needs 'unshare' (util-linux) and 'ip' (iproute2)" >&2; exit 1; }

if [[ "$(id -u)" == 0 ]]; then ns=(unshare --net); else ns=(unshare --net --map-root-user); fi
exec "${ns[@]}" bash -c '
  set -euo pipefail
  ip link set lo up
  ip link add vo-offline0 type veth peer name vo-offline1
  ip addr add 10.77.0.1/24 dev vo-offline0
  ip link set vo-offline0 up
  ip link set vo-offline1 up
  exec "$@"
' offline-run "$@"
