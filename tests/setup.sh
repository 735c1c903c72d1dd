#!/usr/bin/env bash
# tests/setup.sh: prepares Debian 12 for pawl and builds it in the repo.
#
#   tests/setup.sh                 install what is missing, then
#                                  ./autogen.sh && ./configure && make -j2
#   tests/setup.sh --deps-only     only install (what tests/ci.sh calls)
#   tests/setup.sh ARGS...         pass ARGS to ./configure (reconfigures)
#
# apt is skipped when every package is already there, so reruns are fast.
# System services it installs (nginx, postgresql, redis-server, pgbouncer) are
# disabled at boot again; PAWL_SETUP_KEEP_SERVICES=1 leaves them enabled.
# Quick start: tests/setup.sh && make run
set -euo pipefail

PACKAGES=(
	build-essential autoconf automake pkg-config
	libfcgi-dev libjson-c-dev libhiredis-dev libpq-dev libcunit1-dev libinih-dev
	uuid-dev libssl-dev libcurl4-openssl-dev libcrypt-dev
	postgresql-15 redis-server nginx-light spawn-fcgi curl wrk
	clang libclang-rt-14-dev # libFuzzer and the sanitizer runtimes (make fuzz)
	libfcgi-bin # cgi-fcgi: the integration test of a worker running alone
	mandoc # mandoc -T lint of the man pages (tests/man/check)
	libsystemd-dev systemd # sd_notify and socket activation; systemd-analyze verify of the units
	procps # /bin/kill, pawl.service's ExecReload (systemd-analyze verify checks it exists)
	chromium # the headless browser of tests/browser (Kinto Admin), run by tests/ci.sh
	iproute2 # ip netns, veth, bridge and tc: the hosts of tests/scale (make scale-test)
	pgbouncer # the transaction-mode pooler in front of the primary in tests/scale
)
# node >= 18 and npm for tests/clients (Debian 12: nodejs 18 + npm 9); a machine
# that already has a node with npm keeps it (a newer nodejs package may conflict
# with Debian's npm).
command -v node >/dev/null && command -v npm >/dev/null || PACKAGES+=(nodejs npm)

POLICY=/usr/sbin/policy-rc.d

say() { printf 'setup: %s\n' "$*"; }

missing_packages() {
	local p
	for p in "${PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] ||
			printf '%s\n' "$p"
	done
}

install_packages() {
	local missing=() sudo=()
	command -v dpkg-query >/dev/null || { say "not a Debian system: install ${PACKAGES[*]} yourself" >&2; exit 1; }
	mapfile -t missing < <(missing_packages)
	if ((${#missing[@]} == 0)); then
		say "all ${#PACKAGES[@]} packages already installed"
		return 0
	fi
	if ((EUID != 0)); then
		command -v sudo >/dev/null || { say "root needed to install: ${missing[*]}" >&2; exit 1; }
		sudo=(sudo)
	fi
	say "installing ${missing[*]}"
	# The stack runs its own PostgreSQL, Redis and nginx on ports of its own:
	# keep the packages' system services from starting during the install (a
	# system nginx failing on a busy port 80 would fail the whole install).
	if [[ ! -e $POLICY ]]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$POLICY" >/dev/null
		"${sudo[@]}" chmod 755 "$POLICY"
		trap "${sudo[*]} rm -f $POLICY" EXIT
	fi
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 \
		--no-install-recommends "${missing[@]}"
	if [[ -n $(missing_packages) ]]; then
		say "still missing after apt-get: $(missing_packages | tr '\n' ' ')" >&2
		exit 1
	fi
	disable_services "${missing[@]}"
}

# Debian enables a service at boot when its package is installed (policy-rc.d
# only kept it from starting now): the system nginx, postgresql,
# redis-server and pgbouncer would start on their default ports at the next boot. The stack
# runs its own, so the services this run installed are disabled again, unless
# PAWL_SETUP_KEEP_SERVICES=1. Services installed before are left as they were.
disable_services() {
	local pkg svc sudo=()
	((EUID == 0)) || sudo=(sudo)
	[[ ${PAWL_SETUP_KEEP_SERVICES:-0} == 1 ]] && return 0
	for pkg in "$@"; do
		case $pkg in
		nginx-light) svc=nginx ;;
		postgresql-15) svc=postgresql ;;
		redis-server) svc=redis-server ;;
		pgbouncer) svc=pgbouncer ;;
		*) continue ;;
		esac
		if command -v systemctl >/dev/null; then
			"${sudo[@]}" systemctl disable --quiet "$svc" 2>/dev/null || true
		fi
		if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/$svc ]]; then
			"${sudo[@]}" update-rc.d "$svc" disable >/dev/null 2>&1 || true
		fi
		say "disabled the system $svc service at boot (PAWL_SETUP_KEEP_SERVICES=1 keeps it)"
	done
}

build() {
	cd "$(dirname "${BASH_SOURCE[0]}")/.."
	if [[ ! -x configure || configure.ac -nt configure ]]; then
		say "./autogen.sh"
		./autogen.sh
	fi
	if [[ ! -f Makefile || $# -gt 0 ]]; then
		say "./configure $*"
		./configure "$@"
	fi
	say "make -j2"
	make -j2
	say "built $(pwd)/pawl-fcgi; start the local stack with: make run"
}

if [[ ${1:-} == --deps-only ]]; then
	install_packages
else
	install_packages
	build "$@"
fi
