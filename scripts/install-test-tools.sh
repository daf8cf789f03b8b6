#!/usr/bin/env bash
# Installs the external peers and clients the integration tests drive (libiscsi's test tools,
# QEMU with its iSCSI block driver, tgt, fio, iproute2, liburing headers). Idempotent: apt runs
# only when something is missing. Fails naming every package that is still missing afterwards.
set -euo pipefail

readonly PACKAGES=(libiscsi-bin qemu-utils qemu-block-extra tgt iproute2 fio liburing-dev)
readonly QEMU_ISCSI_DRIVER=/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so

# Prints "package: what is missing" for every requirement that is not met.
missing_requirements() {
  local -A command_package=(
    [iscsi-test-cu]=libiscsi-bin [iscsi-inq]=libiscsi-bin [iscsi-ls]=libiscsi-bin
    [qemu-img]=qemu-utils [qemu-io]=qemu-utils [tgtd]=tgt [tgtadm]=tgt [fio]=fio [ip]=iproute2
  )
  local name
  for name in "${!command_package[@]}"; do
    command -v "$name" >/dev/null 2>&1 || echo "${command_package[$name]}: command $name"
  done
  if [[ ! -e $QEMU_ISCSI_DRIVER ]] \
    && ! { command -v qemu-img >/dev/null 2>&1 && qemu-img --help | grep -qw iscsi; }; then
    echo "qemu-block-extra: QEMU iSCSI block driver ($QEMU_ISCSI_DRIVER)"
  fi
  [[ -e /usr/include/liburing.h ]] || echo "liburing-dev: header /usr/include/liburing.h"
}

run_as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

missing=$(missing_requirements | sort)
if [[ -z $missing ]]; then
  echo "test tools: all present"
  exit 0
fi
echo "test tools: missing, installing ${PACKAGES[*]}:"
echo "$missing" | sed 's/^/  /'
run_as_root apt-get update
run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
  "${PACKAGES[@]}" </dev/null

still_missing=$(missing_requirements | sort)
if [[ -n $still_missing ]]; then
  echo "test tools: still missing after apt-get install:" >&2
  echo "$still_missing" | sed 's/^/  /' >&2
  exit 1
fi
echo "test tools: installed"
