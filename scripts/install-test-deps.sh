#!/usr/bin/env bash
# Installs what the test suite needs beyond the runtime itself (`npm run setup` installs QEMU, Go, e2fsprogs):
# busybox-static for the fixture root disk, the local OCI registry and the tools that build test images;
# bsdutils for `script`, which gives the terminal tests a real pseudo-terminal on the host.
# Idempotent; needs root (or sudo) and apt.
set -euo pipefail
packages=(busybox-static docker-registry debootstrap zstd skopeo openssl e2fsprogs qemu-utils iproute2 tar bsdutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
