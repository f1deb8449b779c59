#!/usr/bin/env bash
# Builds the images compose/*.yml run, each only when its tag is missing:
#   localhost/movr-base:bookworm    Debian bookworm (debootstrap --variant=minbase) + libpq5, libssl3, CA certs
#   localhost/movr:latest           compose/Dockerfile on that base with the host's release binaries
#                                   (also tagged with a digest of its inputs: rebuilt when they change)
#   localhost/movr-postgres:15      compose/postgres/Dockerfile
#   localhost/movr-lb:latest        compose/lb/Dockerfile (HAProxy)
# No image registry is needed: the base comes from the Debian mirror. With a registry, the same
# Dockerfiles build from upstream images (docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/compose/podman/containers.conf}"
export PATH="/opt/swift/usr/bin:$PATH"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="${MOVR_IMAGE_WORK:-/var/tmp/movr-images}"
base=localhost/movr-base:bookworm

exists() { podman image exists "$1"; }

if ! exists "$base"; then
  echo "building $base with debootstrap (a few minutes, once)"
  rm -rf "$work/rootfs" && mkdir -p "$work"
  debootstrap --variant=minbase --include=libpq5,libssl3,ca-certificates bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

if ! exists localhost/movr-postgres:15; then
  echo "building localhost/movr-postgres:15"
  podman build -q --format docker --build-arg BASE_IMAGE="$base" -f compose/postgres/Dockerfile -t localhost/movr-postgres:15 . >/dev/null
fi
if ! exists localhost/movr-lb:latest; then
  echo "building localhost/movr-lb:latest"
  podman build -q --format docker --build-arg BASE_IMAGE="$base" -f compose/lb/Dockerfile -t localhost/movr-lb:latest . >/dev/null
fi

# The MovR image is tagged by a digest of what goes into it, so a code change always yields a
# new image (a stale one is never reused); `latest` names the current one.
# The Makefile's release flags (the Swift runtime linked statically), so nothing is rebuilt.
for product in movr-gateway movr-users movr-vehicles movr-rides movr; do
  swift build -c release --static-swift-stdlib --product $product >/dev/null
done
products=(movr-gateway movr-users movr-vehicles movr-rides movr)
digest=$( (for product in "${products[@]}"; do cat ".build/release/$product"; done; cat compose/Dockerfile config/*.json; \
  find Services/Gateway/WebApp -type f | sort | xargs cat) \
  | sha256sum | cut -c1-16)
previous=$(podman image inspect --format '{{.Id}}' localhost/movr:latest 2>/dev/null || true)
if [ "${FORCE:-0}" = 1 ] || ! exists "localhost/movr:$digest"; then
  echo "building localhost/movr:$digest from the release binaries"
  stage="$work/prebuilt"
  rm -rf "$stage" && mkdir -p "$stage/out/bin"
  for product in "${products[@]}"; do cp ".build/release/$product" "$stage/out/bin/"; done
  printf 'FROM %s\nCOPY out /out\n' "$base" > "$stage/Containerfile"
  podman build -q --format docker -f "$stage/Containerfile" -t localhost/movr-prebuilt:latest "$stage" >/dev/null
  # --layers=false: no intermediate image of the build stage is kept.
  podman build -q --format docker --layers=false --build-arg BASE_IMAGE="$base" --build-arg BUILD_IMAGE=localhost/movr-prebuilt:latest \
    -f compose/Dockerfile -t "localhost/movr:$digest" . >/dev/null
  podman image rm localhost/movr-prebuilt:latest >/dev/null 2>&1 || true
  rm -rf "$stage"
fi
podman tag "localhost/movr:$digest" localhost/movr:latest
# The image this one replaces, unless a container still uses it.
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' localhost/movr:latest)" ]; then
  podman image rm -f "$previous" >/dev/null 2>&1 || podman untag "$previous" >/dev/null 2>&1 || true
fi
echo "images ready: $(podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'movr' | tr '\n' ' ')"
