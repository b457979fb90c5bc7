#!/usr/bin/env bash
# Builds the base images (when missing) and the service image from docker/Dockerfile with podman, cached
# (an unchanged tree rebuilds in seconds). Tag: voice-orchestrator:<package.json version> (never latest).
#   scripts/containers/build.sh            build, print the build time and the image size
#   scripts/containers/build.sh --no-cache rebuild every layer of the service image
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VO_REPO"
# One build at a time on this machine (several test runs may start together).
mkdir -p "$VO_CACHE/containers"
exec 9>"$VO_CACHE/containers/.build.lock"
flock 9
bash scripts/containers/base-images.sh

tag="$(vo_image_tag)"
extra=()
[[ "${1:-}" == "--no-cache" ]] && extra+=(--no-cache)
start=$SECONDS
say "building $tag from docker/Dockerfile (log: \$VO_CACHE/logs/container-build.log)"
mkdir -p "$VO_CACHE/logs"
# --format docker keeps the HEALTHCHECK (the OCI format has none); --pull=never: the bases are local.
if ! nice -n 10 podman build --format docker --pull=never --layers "${extra[@]}" \
    -f docker/Dockerfile -t "$tag" . >"$VO_CACHE/logs/container-build.log" 2>&1; then
  tail -n 30 "$VO_CACHE/logs/container-build.log" >&2
  fail "podman build failed; full log: \$VO_CACHE/logs/container-build.log"
fi
size="$(podman image inspect --format '{{.Size}}' "$tag")"
say "built $tag in $((SECONDS - start)) s, image size $((size / 1000000)) MB"
