#!/usr/bin/env bash
# Development launcher behind `npm run dev -- [mode] [voice]` and `just dev [mode] [voice]` (same order;
# `just dev-agent [voice]` etc. fix the mode): validates the mode, runs the runtime set-up (idempotent:
# packages, the web page, voices, local models), starts a local LiveKit server when LIVEKIT_URL points at this machine
# and nothing answers, then runs the service.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-agent}"
voice="${2:-}"
case "$mode" in
  agent|legacy|hybrid|models) ;;
  *) echo "unknown mode '$mode': valid modes are agent, legacy, hybrid, models" >&2; exit 1 ;;
esac
export ORCHESTRATOR_MODE="$mode" LOG_FORMAT="${LOG_FORMAT:-pretty}"
[[ -n "$voice" ]] && export TTS_VOICE="$voice"
export VO_CACHE="${VO_CACHE:-$HOME/.cache/voice-orchestrator}"

bash scripts/setup.sh --runtime
npx tsx src/config/check.ts --quiet   # fail fast, naming the bad variable

if [[ "$mode" == agent || "$mode" == hybrid ]]; then
  url="$(npx tsx src/config/check.ts --get LIVEKIT_URL)"
  hostport="${url#*://}"; hostport="${hostport%%/*}"
  host="${hostport%:*}"; port="${hostport##*:}"
  [[ "$port" == "$hostport" ]] && port=7880
  if [[ "$host" == 127.0.0.1 || "$host" == localhost ]]; then
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "==> nothing answers at $url: starting a local LiveKit server (dev keys)"
      conf="$VO_CACHE/livekit-dev.yaml"
      cat > "$conf" <<YAML
port: $port
bind_addresses: ["127.0.0.1"]
rtc:
  tcp_port: $((port + 1))
  udp_port: $((port + 2))
  node_ip: 127.0.0.1
  use_external_ip: false
  enable_loopback_candidate: true
keys:
  $(npx tsx src/config/check.ts --get LIVEKIT_API_KEY): $(npx tsx src/config/check.ts --get LIVEKIT_API_SECRET)
logging:
  level: warn
YAML
      # --dev accepts short secrets such as the default "secret"
      "$VO_CACHE/bin/livekit-server" --dev --config "$conf" &
      lk_pid=$!
      trap 'kill "$lk_pid" 2>/dev/null || true' EXIT
      for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
    fi
  fi
fi

npx tsx src/main.ts
