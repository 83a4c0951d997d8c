#!/usr/bin/env bash
# Build the slotblock image with podman on a machine that reaches Debian's and PyPI's package
# repositories but no container registry (`make image`).
#
#   deploy/image.sh            packages, podman configuration, the local base, the image
#   deploy/image.sh base       ... up to the local base only
#   deploy/image.sh fleet      ... and the images compose.yaml needs (PostgreSQL, Redis,
#                              HAProxy from Debian's packages); prints the variables to export
#   deploy/image.sh env        print the `export CONTAINERS_CONF=…` line for your shell
#
# Steps, each skipped when already done:
#  1. Debian packages: podman, buildah, mmdebstrap, runc, uidmap, slirp4netns, fuse-overlayfs,
#     netavark, aardvark-dns, iptables.
#  2. A containers.conf (build/podman/containers.conf, used through CONTAINERS_CONF): runc as
#     the runtime (crun refuses some hosts' cgroup layout), cgroupfs, file events, and
#     default ulimits below this host's hard limits (podman's defaults ask for more than a
#     container may be given here).
#  3. The base image localhost/slotblock-base:<release>: Debian minbase with python3,
#     python3-venv and ca-certificates, made by mmdebstrap from the mirrors in this machine's
#     apt sources and imported with `podman import`.
#  4. The image localhost/slotblock:<version> (and :latest) from the Dockerfile, with
#     BASE_IMAGE set to that base, pip trusting this machine's CA bundle (a build secret).
#
# Environment: SLOTBLOCK_BASE_RELEASE (Debian release of the base, default: this machine's,
# else bookworm), SLOTBLOCK_BASE_IMAGE (use this base instead of making one), REBUILD_BASE=1
# (make the base again), PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_TRUSTED_HOST (a package
# mirror, passed as build arguments), PIP_CERT (the CA bundle pip trusts; default: this
# machine's pip configuration, else the system bundle).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: error: %s\n' "$*" >&2; exit 1; }

# With their recommended packages (podman's network stack: netavark, aardvark-dns for the
# compose fleet's names, iptables for published ports).
PACKAGES=(podman buildah mmdebstrap runc uidmap slirp4netns fuse-overlayfs netavark aardvark-dns iptables)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "needs root to run: $*"
    fi
}

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "no apt-get: install ${missing[*]} yourself"
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The lower of a wanted limit and half this shell's hard limit (a container may not be given
# as much as the host's hard limit here).
limit() {
    local wanted=$1 hard=$2
    if [ "$hard" = unlimited ] || [ "$((hard / 2))" -ge "$wanted" ]; then echo "$wanted"
    else echo "$((hard / 2))"
    fi
}

write_podman_config() {
    local dir="$ROOT/build/podman" nofile nproc
    nofile=$(limit 65536 "$(ulimit -Hn)")
    nproc=$(limit 8192 "$(ulimit -Hu)")
    mkdir -p "$dir"
    cat >"$dir/containers.conf.new" <<EOF
# Written by deploy/image.sh; used through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    mv "$dir/containers.conf.new" "$dir/containers.conf"
    export CONTAINERS_CONF="$dir/containers.conf"
}

release() {
    if [ -n "${SLOTBLOCK_BASE_RELEASE:-}" ]; then echo "$SLOTBLOCK_BASE_RELEASE"; return; fi
    local codename=""
    [ -r /etc/os-release ] && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ -n "$codename" ] && grep -qs '^ID=debian' /etc/os-release; then echo "$codename"
    else echo bookworm
    fi
}

# `deb URI SUITE main` for every Debian source of this machine whose suite belongs to the
# release (bookworm, bookworm-updates, bookworm-security), in one-line or deb822 format.
mirrors() {
    local rel=$1
    # deb [options] URI SUITE COMPONENT...
    local ONE_LINE='$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i + 1) }'
    {
        if [ -r /etc/apt/sources.list ]; then
            awk "$ONE_LINE" /etc/apt/sources.list
        fi
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -r "$f" ] || continue
            awk '
                function flush() { if (types ~ /(^| )deb( |$)/) for (u in uris) for (s in suites) print uris[u], suites[s]; delete uris; delete suites; types = "" }
                /^[ \t]*$/ { flush(); next }
                /^Types:/ { types = $0; sub(/^Types:[ \t]*/, "", types) }
                /^URIs:/ { for (i = 2; i <= NF; i++) uris[i] = $i }
                /^Suites:/ { for (i = 2; i <= NF; i++) suites[i] = $i }
                END { flush() }' "$f"
        done
        for f in /etc/apt/sources.list.d/*.list; do
            if [ -r "$f" ]; then awk "$ONE_LINE" "$f"; fi
        done
    } | awk -v rel="$rel" '$2 == rel || index($2, rel "-") == 1 || index($2, rel "/") == 1 { print "deb " $1 " " $2 " main" }' | sort -u
}

base_image() {
    if [ -n "${SLOTBLOCK_BASE_IMAGE:-}" ]; then echo "$SLOTBLOCK_BASE_IMAGE"; return; fi
    local rel base
    rel=$(release)
    base="localhost/slotblock-base:$rel"
    if [ "${REBUILD_BASE:-0}" != 1 ] && podman image exists "$base"; then echo "$base"; return; fi
    local sources=()
    while IFS= read -r line; do sources+=("$line"); done < <(mirrors "$rel")
    if [ ${#sources[@]} -eq 0 ]; then
        sources=("deb http://deb.debian.org/debian $rel main"
                 "deb http://deb.debian.org/debian $rel-updates main"
                 "deb http://deb.debian.org/debian-security $rel-security main")
    fi
    log "making $base from: ${sources[*]}"
    # Minbase plus Python; no documentation, manual pages or translations; merged /usr set up
    # without the usrmerge package (which would bring Perl).
    as_root mmdebstrap --quiet --variant=minbase --mode=root \
        --include=python3,python3-venv,ca-certificates \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
        "$rel" - "${sources[@]}" </dev/null 2>"$ROOT/build/podman/mmdebstrap.log" |
        podman import --quiet --change 'CMD ["/bin/bash"]' - "$base" >/dev/null ||
        die "making the base failed; see build/podman/mmdebstrap.log"
    echo "$base"
}

version() {
    sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/slotblock/__init__.py
}

# The CA bundle pip on this machine trusts, for the build's pip (a build secret, not a layer).
ca_bundle() {
    local cert="${PIP_CERT:-}"
    if [ -z "$cert" ] && command -v pip3 >/dev/null 2>&1; then
        cert=$(pip3 config get global.cert 2>/dev/null || true)
    fi
    for c in "$cert" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
        if [ -n "$c" ] && [ -s "$c" ]; then echo "$c"; return; fi
    done
}

build_image() {
    local base=$1 ver args=() ca
    ver=$(version)
    [ -n "$ver" ] || die "no __version__ in src/slotblock/__init__.py"
    for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST; do
        # Only mirrors a container can reach (a file:// index of this machine is not there).
        case "${!name:-}" in http://* | https://*) args+=(--build-arg "$name=${!name}") ;; esac
    done
    ca=$(ca_bundle)
    [ -n "$ca" ] && args+=(--secret "id=pip_ca,src=$ca")
    args+=(--build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")
    local origin
    origin=$(git remote get-url origin 2>/dev/null || true)
    [ -n "$origin" ] && args+=(--build-arg "SOURCE_URL=$origin")
    log "building localhost/slotblock:$ver on $base"
    # --format docker keeps the HEALTHCHECK (the OCI image format has no field for it).
    podman build --quiet --format docker --layers \
        --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$ver" "${args[@]}" \
        --tag "localhost/slotblock:$ver" --tag localhost/slotblock:latest . >/dev/null
    log "built localhost/slotblock:$ver ($(podman image inspect --format '{{.Size}}' "localhost/slotblock:$ver" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# compose.yaml's other images, from Debian's packages on the same base (no registry needed).
build_fleet_images() {
    local base=$1 name
    for name in postgres redis haproxy; do
        log "building localhost/slotblock-$name:latest on $base"
        podman build --quiet --format docker --layers --build-arg "BASE_IMAGE=$base" \
            --tag "localhost/slotblock-$name:latest" "deploy/$name" >/dev/null
    done
    cat <<EOF
export CONTAINERS_CONF=$CONTAINERS_CONF
export SLOTBLOCK_IMAGE=localhost/slotblock:$(version)
export SLOTBLOCK_POSTGRES_IMAGE=localhost/slotblock-postgres:latest
export SLOTBLOCK_REDIS_IMAGE=localhost/slotblock-redis:latest
export SLOTBLOCK_LB_IMAGE=localhost/slotblock-haproxy:latest
export SLOTBLOCK_BASE_IMAGE=$base
export SLOTBLOCK_DEBIAN_IMAGE=$base
EOF
}

main() {
    local what=${1:-image}
    case "$what" in
        env) write_podman_config; echo "export CONTAINERS_CONF=$CONTAINERS_CONF"; return ;;
        base | image | fleet) ;;
        *) die "usage: $0 [image|base|fleet|env]" ;;
    esac
    install_packages
    write_podman_config
    local base
    base=$(base_image)
    [ "$what" = base ] && { echo "$base"; return; }
    build_image "$base"
    if [ "$what" = fleet ]; then build_fleet_images "$base"; fi
}

main "$@"
