#!/usr/bin/env bash
# Prepare a KUBEBUILDER_ASSETS directory for the e2e tier (envtest convention).
#
#   eval "$(bash tests/e2e/setup_envtest.sh [DIR])"
#
# Idempotent and non-interactive. Installs Debian's etcd-server when `etcd` is not found,
# then makes DIR (default ${TMPDIR:-/tmp}/kro-envtest-assets) hold two symlinks:
#   kube-apiserver -> <repo>/../shared/envtest/kube-apiserver
#   etcd           -> the installed etcd
# Its only stdout line is `export KUBEBUILDER_ASSETS=DIR`. When the shared kube-apiserver is
# missing it prints nothing on stdout, says why on stderr and exits 0: the e2e tier then skips.
set -euo pipefail

log() { printf 'setup_envtest: %s\n' "$*" >&2; }

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo_root=$(cd -- "$script_dir/../.." && pwd -P)
apiserver="$repo_root/../shared/envtest/kube-apiserver"
assets_dir=${1:-${TMPDIR:-/tmp}/kro-envtest-assets}

if [[ ! -x "$apiserver" ]]; then
    log "no executable kube-apiserver at $apiserver; the e2e tier will be skipped"
    exit 0
fi
apiserver=$(cd -- "$(dirname -- "$apiserver")" && pwd -P)/kube-apiserver

find_etcd() {
    local candidate
    candidate=$(command -v etcd 2>/dev/null || true)
    if [[ -z "$candidate" && -x /usr/bin/etcd ]]; then
        candidate=/usr/bin/etcd
    fi
    printf '%s' "$candidate"
}

etcd_bin=$(find_etcd)
if [[ -z "$etcd_bin" ]]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "etcd not found and apt-get unavailable; install etcd and put it on PATH"
        exit 1
    fi
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo -n)
    fi
    # The package's maintainer scripts try to start an etcd service (on 2379/2380). The tier runs
    # its own etcd on free ports, so a system one is merely in the way: forbid service starts for
    # the duration of the install (policy-rc.d, honoured by invoke-rc.d/deb-systemd-invoke).
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        created_policy=1
    fi
    cleanup_policy() {
        if [[ $created_policy -eq 1 ]]; then
            "${sudo[@]}" rm -f "$policy"
        fi
    }
    trap cleanup_policy EXIT
    log "installing etcd-server with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        etcd-server </dev/null >&2
    cleanup_policy
    trap - EXIT
    # Belt and braces: if a service manager started it anyway, stop it (it is not ours to use).
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
        "${sudo[@]}" systemctl stop etcd >&2 || true
        "${sudo[@]}" systemctl disable etcd >&2 2>/dev/null || true
    fi
    etcd_bin=$(find_etcd)
    if [[ -z "$etcd_bin" ]]; then
        log "etcd-server installed but no etcd binary found on PATH or at /usr/bin/etcd"
        exit 1
    fi
fi
etcd_bin=$(readlink -f -- "$etcd_bin")

mkdir -p -- "$assets_dir"
assets_dir=$(cd -- "$assets_dir" && pwd -P)
ln -sfn -- "$apiserver" "$assets_dir/kube-apiserver"
ln -sfn -- "$etcd_bin" "$assets_dir/etcd"

printf 'export KUBEBUILDER_ASSETS=%q\n' "$assets_dir"
