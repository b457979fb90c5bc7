# voice-orchestrator tasks. `npx just --list` shows them; nothing global is needed (just ships as a dev dependency).
set shell := ["bash", "-euo", "pipefail", "-c"]

# Show the recipes
default:
    @just --list

# Run the service in a mode (agent | legacy | hybrid) with pretty logs; starts a local LiveKit server when needed.
# Same arguments, same order as `npm run dev -- [mode] [voice]`.
dev mode="agent" voice="":
    bash scripts/dev.sh "{{mode}}" "{{voice}}"

# Agent mode: LiveKit worker + web page on :3000
dev-agent voice="":
    bash scripts/dev.sh agent "{{voice}}"

# Legacy mode: WebSocket TTS server on :8080 (no API key needed)
dev-legacy voice="":
    bash scripts/dev.sh legacy "{{voice}}"

# Hybrid mode: agent worker and legacy server in one process
dev-hybrid voice="":
    bash scripts/dev.sh hybrid "{{voice}}"

# Deprecated: use `just dev-agent`
dev-agent-piper voice="":
    @echo "warning: 'just dev-agent-piper' is deprecated; use 'just dev-agent' (Piper is the only TTS now)" >&2
    bash scripts/dev.sh agent "{{voice}}"

# Set up everything and run every test
test:
    bash scripts/test.sh

# Run benchmarks: all, or one of tts | legacy | agent | models
bench which="":
    if [ -z "{{which}}" ]; then npm run bench; else npm run "bench:{{which}}"; fi

# Type-check and lint
lint:
    npm run lint

# Type-check only
typecheck:
    npm run typecheck

# Legacy CLI client (e.g. just cli --say "hello" --out hello.wav)
cli *args:
    npm run --silent cli -- {{args}}

# Print the effective configuration and where each value came from
config:
    npm run --silent config:check

# Manage Piper voices (list | download NAME)
voices *args:
    npm run --silent voices -- {{args}}

# Start the containers (LiveKit server + orchestrator)
docker-up:
    docker compose up -d --build

# Stop the containers
docker-down:
    docker compose down
