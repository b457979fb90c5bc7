#!/usr/bin/env bash
# Set-up part: the real LiveKit server (SFU) used by the agent and web end-to-end tests.
# Builds it from the Go module proxy into "$VO_CACHE/bin" and names it livekit-server.
# Idempotent: does nothing when the right version is already there.
set -euo pipefail

LIVEKIT_VERSION="1.13.5"
source "$(dirname "$0")/lib.sh"
BIN_DIR="$VO_CACHE/bin"
TARGET="$BIN_DIR/livekit-server"


version_of() { "$1" --version 2>/dev/null | awk '{print $NF}'; }

mkdir -p "$BIN_DIR"

if [[ -x "$TARGET" && "$(version_of "$TARGET")" == "$LIVEKIT_VERSION" ]]; then
  say "livekit-server $LIVEKIT_VERSION already installed"
  exit 0
fi

# `go install` names the binary after its package folder: `server`.
if [[ ! -x "$BIN_DIR/server" || "$(version_of "$BIN_DIR/server")" != "$LIVEKIT_VERSION" ]]; then
  command -v go >/dev/null || fail "Go is not installed (need Go >= 1.26): install it (e.g. from the distribution) and re-run"
  say "building livekit-server $LIVEKIT_VERSION with 'go install' (a few minutes on 2 cores; modules are cached by Go)"
  start=$(date +%s)
  log="$VO_CACHE/logs/livekit-build.log"
  mkdir -p "$(dirname "$log")"
  # -v names each package as it compiles: counted here as progress, kept whole in the log.
  if ! CGO_ENABLED=0 GOBIN="$BIN_DIR" go install -v "github.com/livekit/livekit-server/cmd/server@v$LIVEKIT_VERSION" 2>&1 \
      | tee "$log" | awk '{ n++; if (n % 25 == 0) { printf "[setup:livekit] compiled %d packages...\n", n; fflush() } }'; then
    tail -n 20 "$log" >&2
    fail "go install of livekit-server failed (Go module proxy reachable? Go >= 1.26?); full log: \$VO_CACHE/logs/livekit-build.log"
  fi
  [[ -x "$BIN_DIR/server" ]] || fail "go install finished but $BIN_DIR/server is missing"
  say "built in $(( $(date +%s) - start )) s"
fi

got="$(version_of "$BIN_DIR/server")"
[[ "$got" == "$LIVEKIT_VERSION" ]] || fail "built server reports version '$got', expected $LIVEKIT_VERSION"
ln -sf server "$TARGET"
say "livekit-server $LIVEKIT_VERSION ready"
