#!/usr/bin/env bash
# `npm run test:containers`: container tools (podman, runc, mmdebstrap, podman-compose), the base images
# and the service image (cached: seconds when nothing changed), then the container tests
# (test/containers/*.test.ts: the image in legacy and agent mode with a LiveKit container, and
# docker-compose.yml on podman-compose) and the static container/deployment checks (test/docker,
# test/deploy). Prints how long each part took.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$VO_REPO"
start=$SECONDS
bash scripts/containers/setup.sh
bash scripts/setup/k8s-validate.sh
bash scripts/containers/build.sh
built=$SECONDS
mkdir -p test-artifacts
mapfile -t files < <(find test/containers test/docker test/deploy -name '*.test.ts' | sort)
status=0
VO_CONTAINER_IMAGES_BUILT=1 node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=test-artifacts/containers.tap \
  "${files[@]}" || status=$?
say "tools and images $((built - start)) s, tests $((SECONDS - built)) s, total $((SECONDS - start)) s"
exit "$status"
