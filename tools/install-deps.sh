#!/bin/sh
# Install every Debian 12 package tipoff needs to build and test (run as root).
set -eu
here=$(dirname "$0")
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2046
apt-get install -y -q --no-install-recommends $(grep -v '^#' "$here/debian-packages.txt")
