#!/usr/bin/env bash
# tests/ci.sh: what CI runs (through .ci/run), and what to run before asking
# for a review. Installs the packages (tests/setup.sh --deps-only), then:
#
#   build/       ./configure --enable-werror                       make check
#   build-asan/  ./configure --enable-werror --enable-sanitizers   make check
#   build-fault/ ./configure --enable-werror --enable-fault-injection make check
#   build/       make distcheck (the tarball builds and passes make check)
#   build/       make fuzz (every libFuzzer target, a few seconds each)
#   build-deb/   tests/package/build (dpkg-buildpackage -us -uc -b on a copy, lintian)
#   build/       make check-browser (Kinto Admin in headless Chromium, once)
#   build/       make scale-test SCALE_ARGS=--short (hosts on network namespaces, once; root)
#
# Ends with "ci: N passed, M failed" (N: make check runs that passed) and
# exits non-zero on any failure, after printing the failed tests' logs.
set -euo pipefail

START=$SECONDS
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PASSED=0
FAILED=0
SUMMARY=()

say() { printf '\nci: %s\n' "$*"; }

finish() {
	local line
	say "summary"
	for line in "${SUMMARY[@]}"; do printf '  %s\n' "$line"; done
	printf 'ci: %d s elapsed\n' "$((SECONDS - START))"
	printf 'ci: %d passed, %d failed\n' "$PASSED" "$FAILED"
	((FAILED == 0))
}

# Out-of-tree builds refuse a source tree configured in place (tests/setup.sh
# builds in place): then run on a clean export of the tree instead.
if [[ -f $ROOT/config.status && -z ${PAWL_CI_EXPORTED:-} ]]; then
	command -v git >/dev/null && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || {
		echo "ci: $ROOT is configured in place; run 'make distclean' there first" >&2
		exit 1
	}
	EXPORT=$(mktemp -d "${TMPDIR:-/tmp}/pawl-ci.XXXXXX")
	say "$ROOT is configured in place: running on a clean export in $EXPORT"
	git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
		(cd "$ROOT" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
		tar -xf - -C "$EXPORT"
	PAWL_CI_EXPORTED=1 bash "$EXPORT/tests/ci.sh" && rc=0 || rc=$?
	if ((rc == 0)); then rm -rf "$EXPORT"; else echo "ci: export kept in $EXPORT" >&2; fi
	exit "$rc"
fi

cd "$ROOT"
ulimit -c 0 || true

say "installing packages"
bash tests/setup.sh --deps-only

say "./autogen.sh"
./autogen.sh

print_test_logs() {
	local f
	while IFS= read -r f; do
		printf '\n===== %s =====\n' "$f"
		cat "$f"
	done < <(find "$1" -name test-suite.log -newer "$2" 2>/dev/null)
}

# check NAME DIR CONFIGURE-FLAGS...: configure, build and make check in DIR.
check() {
	local name=$1 dir=$2 stamp
	shift 2
	say "$name: configure $*"
	rm -rf "$dir"
	mkdir -p "$dir"
	stamp=$dir/.ci-stamp
	touch "$stamp"
	if (cd "$dir" && ../configure "$@" >configure.out 2>&1 || { tail -n 40 configure.out; false; }) &&
		(cd "$dir" && make -j2) &&
		(cd "$dir" && make -j2 check); then
		PASSED=$((PASSED + 1))
		SUMMARY+=("$name: make check passed")
		return 0
	fi
	print_test_logs "$dir" "$stamp"
	FAILED=$((FAILED + 1))
	SUMMARY+=("$name: FAILED")
	return 1
}

check build build --enable-werror || true

# Assignments before a function call reach everything it runs.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	check build-asan build-asan --enable-werror --enable-sanitizers || true

# Test-only fault points (a worker killed between COMMIT and the Redis push):
# the delivery test that needs them runs only in this build.
check build-fault build-fault --enable-werror --enable-fault-injection || true

if [[ -f build/Makefile ]]; then
	say "distcheck"
	touch build/.ci-stamp
	if (cd build && make distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror); then
		PASSED=$((PASSED + 1))
		SUMMARY+=("distcheck: make check of the tarball passed")
	else
		print_test_logs build build/.ci-stamp
		FAILED=$((FAILED + 1))
		SUMMARY+=("distcheck: FAILED")
	fi
else
	FAILED=$((FAILED + 1))
	SUMMARY+=("distcheck: not run (build/ did not configure)")
fi

# Kinto Admin in Debian's headless Chromium against build/'s pawl-fcgi: once
# (about a minute), not in each build's make check. Screenshots: build/tests/browser/out.
if [[ -f build/Makefile ]]; then
	say "browser: make check-browser"
	if (cd build && CI=true make check-browser); then
		PASSED=$((PASSED + 1))
		SUMMARY+=("browser: Kinto Admin in headless Chromium passed (screenshots in build/tests/browser/out)")
	else
		FAILED=$((FAILED + 1))
		SUMMARY+=("browser: FAILED (see above; screenshots in build/tests/browser/out)")
	fi
fi

# Several pawl hosts on PostgreSQL replication and Redis Sentinel, each a
# network namespace, with real faults: the short version (about 3 minutes),
# once. It needs root (ip netns); it removes every namespace it made.
if [[ -f build/Makefile ]]; then
	say "scale: make scale-test SCALE_ARGS=--short"
	if ((EUID != 0)); then
		FAILED=$((FAILED + 1))
		SUMMARY+=("scale: not run (needs root for ip netns)")
	elif (cd build && make scale-test SCALE_ARGS=--short); then
		PASSED=$((PASSED + 1))
		SUMMARY+=("scale: every scenario of tests/scale passed (short run)")
	else
		FAILED=$((FAILED + 1))
		SUMMARY+=("scale: FAILED (see the table above)")
	fi
fi

# The Debian packages, built as the README says on a copy of the tree, and lintian.
say "package: tests/package/build"
if bash tests/package/build "$ROOT/build-deb"; then
	PASSED=$((PASSED + 1))
	SUMMARY+=("package: dpkg-buildpackage -us -uc -b built pawl and pawl-dev, lintian reports no error")
else
	FAILED=$((FAILED + 1))
	SUMMARY+=("package: FAILED (build-deb/build.log, build-deb/lintian.log)")
fi

# Every parser's libFuzzer target, a few seconds each (make fuzz FUZZ_SECONDS=600 locally).
if [[ -f build/Makefile ]]; then
	say "fuzz: ${CI_FUZZ_SECONDS:-5} s per target"
	if (cd build && make fuzz FUZZ_SECONDS="${CI_FUZZ_SECONDS:-5}"); then
		PASSED=$((PASSED + 1))
		SUMMARY+=("fuzz: every target ran without a crash")
	else
		FAILED=$((FAILED + 1))
		crashes=$(cd build && ls tests/fuzz/crash-* 2>/dev/null | tr '\n' ' ')
		if [[ -n $crashes ]]; then
			SUMMARY+=("fuzz: FAILED, a target crashed; inputs kept: $crashes(in build/)")
		else
			SUMMARY+=("fuzz: FAILED before any crash (a target did not build or run; see above)")
		fi
	fi
fi

finish
