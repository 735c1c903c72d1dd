#!/usr/bin/env bash
# admin/build.sh [OUT]: Kinto Admin as a static site, what `make admin` runs.
#
# Installs the packages package-lock.json pins (npm ci; skipped when
# node_modules already matches the lock) and bundles them with esbuild
# (build.mjs) into OUT (default: admin/build beside this script): index.html,
# VERSION and assets/. nginx serves that folder at /v1/admin/ (nginx/pawl.conf).
# Needs node >= 18 and npm (Debian 12: apt-get install nodejs npm), and the
# npm registry the first time; later builds are offline.
# Packages' install scripts are not run (--ignore-scripts): none is needed,
# esbuild's binary arrives as a package of its own (@esbuild/linux-x64).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

say() { printf 'admin: %s\n' "$*"; }
die() {
	printf 'admin: error: %s\n' "$*" >&2
	exit 1
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(realpath -m -- "${1:-$HERE/build}")

command -v node >/dev/null || die "node not found (Debian 12: apt-get install nodejs npm, or tests/setup.sh)"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
((NODE_MAJOR >= 18)) || die "node $(node --version) is too old: the build needs node >= 18"

# A read-only source tree (make distcheck) builds from a private copy.
WORK=$HERE
CLEAN_WORK=
if [[ ! -w $HERE ]]; then
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/pawl-admin-src-XXXXXX")
	CLEAN_WORK=$WORK
	trap 'rm -rf -- "$CLEAN_WORK"' EXIT
	cp -pR "$HERE"/package.json "$HERE"/package-lock.json "$HERE"/build.mjs "$HERE"/src "$WORK"/
fi

# node_modules/.pawl-lock: the checksum of the lock it was installed from.
lock_sum=$(sha256sum "$WORK/package-lock.json" | cut -d' ' -f1)
if [[ -f $WORK/node_modules/.pawl-lock && $(cat "$WORK/node_modules/.pawl-lock") == "$lock_sum" ]]; then
	say "node_modules matches package-lock.json; not installing"
else
	command -v npm >/dev/null || die "npm not found (Debian 12: apt-get install npm)"
	say "installing kinto-admin and esbuild: npm ci in $WORK"
	(cd "$WORK" && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error) ||
		die "npm ci failed (it needs the npm registry once; afterwards builds are offline)"
	printf '%s\n' "$lock_sum" >"$WORK/node_modules/.pawl-lock"
fi

node "$WORK/build.mjs" "$OUT"
