#!/bin/sh
# What `course image` and tests/container need: Docker's daemon and client (docker.io) and
# mmdebstrap, which makes the base image from Debian's packages (no registry is pulled from).
# Installs only when run as root with apt-get; otherwise it says what is missing and succeeds
# (the container tests then skip and say why). It never starts the system's Docker service:
# `course image` runs a private daemon that leaves the host's networking alone.
set -e
missing=""
command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
command -v mmdebstrap >/dev/null 2>&1 || missing="$missing mmdebstrap"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # policy-rc.d 101: the package must not start (or enable) a system daemon with bridge and iptables
    policy=/usr/sbin/policy-rc.d
    [ -e "$policy" ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; }
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 \
        || { apt-get update >/dev/null 2>&1 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null; }
    [ -z "$created" ] || rm -f "$policy"
else
    echo "note: not installed and cannot be installed here:$missing. \`course image\` and the container" \
         "tests need them (run this script as root)." >&2
fi
