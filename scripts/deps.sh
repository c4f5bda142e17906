#!/bin/sh
# Install the Debian packages Postern needs to build and test, when run as
# root and something is missing; create the `postern` system user that the
# default `run_as` names. Not root: only report what is missing.
set -e
if [ "${1:-}" = "--user-only" ]; then
	if [ "$(id -u)" = 0 ] && ! getent passwd postern >/dev/null; then
		useradd --system --no-create-home --home-dir /var/lib/postern \
			--shell /usr/sbin/nologin postern
		echo "deps: created system user postern"
	fi
	exit 0
fi
pkgs="build-essential clang libclang-rt-14-dev pkg-config libevent-dev
libssl-dev libconfig-dev libsqlite3-dev libunbound-dev libcrypt-dev
libcmocka-dev libseccomp-dev python3-pytest swaks openssl sqlite3 procps
cppcheck clang-tidy python3-dnslib python3-aiosmtpd python3-pytest-xdist
clamav-daemon python3-milter curl fetchmail isync"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq $missing >/dev/null
	else
		echo "deps: missing Debian packages:$missing (run as root to install)" >&2
	fi
fi
if [ "$(id -u)" = 0 ] && ! getent passwd postern >/dev/null; then
	useradd --system --no-create-home --home-dir /var/lib/postern \
		--shell /usr/sbin/nologin postern
	echo "deps: created system user postern"
fi
exit 0
