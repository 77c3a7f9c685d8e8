#!/usr/bin/env bash
# install-deps.sh installs, as root on Debian 12, every system package the test suite needs:
# the PostgreSQL 15 server, pgvector (built from Debian's trixie source package, since bookworm
# ships no binary), redis-server, Node.js packages' prerequisites and Chromium for browser tests.
# Each step is skipped when its result is already present, so a warm machine pays nothing.
set -euo pipefail

log() { printf 'install-deps: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
	log "not root: skipping system packages (tests will say what is missing)"
	exit 0
fi

PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
export DEBIAN_FRONTEND=noninteractive

need=()
[ -x /usr/lib/postgresql/$PG_MAJOR/bin/postgres ] || need+=(postgresql-$PG_MAJOR)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs npm)

updated=0
apt_update() {
	if [ $updated = 0 ]; then
		log "apt-get update"
		apt-get update -qq
		updated=1
	fi
}

if [ ${#need[@]} -gt 0 ]; then
	apt_update
	log "installing ${need[*]}"
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	# The Debian packages start their own cluster/daemon; the tests start throwaway servers instead.
	systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

if [ ! -f /usr/share/postgresql/$PG_MAJOR/extension/vector.control ]; then
	log "building pgvector from Debian's source package (trixie) against postgresql-server-dev-$PG_MAJOR"
	src=/etc/apt/sources.list.d/vibecode-trixie-src.sources
	if [ ! -f "$src" ]; then
		cat >"$src" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		updated=0
	fi
	apt_update
	apt-get install -y -qq --no-install-recommends postgresql-server-dev-$PG_MAJOR build-essential dpkg-dev >/dev/null
	work=$(mktemp -d)
	(
		cd "$work"
		apt-get source -qq pgvector >/dev/null 2>&1 || apt-get source pgvector
		cd pgvector-*/
		make -s PG_CONFIG=$PG_CONFIG OPTFLAGS="" >/dev/null
		make -s PG_CONFIG=$PG_CONFIG install >/dev/null
	)
	rm -rf "$work"
	log "pgvector installed: $(grep default_version /usr/share/postgresql/$PG_MAJOR/extension/vector.control)"
fi
