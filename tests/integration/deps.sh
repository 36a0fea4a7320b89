#!/usr/bin/env bash
# deps.sh - who installs Debian packages: `make deps`, `make check` and `make demo` do; plain
# `make` and the other targets list what is missing and stop.  A package that does not
# exist (dm-no-such-package) stands for a missing one, and apt-get and sudo are replaced
# on PATH by stand-ins that record their call and fail, so nothing is installed and
# neither check nor demo goes further than its `make deps`.  Plain `make` must find the
# program built or build it.
# Run from the repository root by `make integration`.
set -u
cd "$(dirname "$0")/../.."
if [ -n "${DM_DEPS_SH:-}" ]; then
    echo "FAIL deps.sh ran inside its own make check: make check went past a failed make deps"
    exit 1
fi
T=$(mktemp -d /tmp/dm-deps.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

mkdir "$T/bin"
# apt-get: update succeeds, install fails; sudo (for a user other than root) runs apt-get
printf '#!/bin/sh\necho "apt-get $*" >>"%s/calls"\n[ "$1" = update ]\n' "$T" >"$T/bin/apt-get"
printf '#!/bin/sh\necho "sudo $*" >>"%s/calls"\nexec "$@"\n' "$T" >"$T/bin/sudo"
chmod +x "$T/bin/apt-get" "$T/bin/sudo"
FAKE=dm-no-such-package

# mk ARGS...: make with the stand-ins first on PATH; output in $T/out, calls in $T/calls.
# Should check or demo ever run past a failed `make deps`, the timeout and the guard stop
# it from running this script again inside itself.
mk() {
    rm -f "$T/calls"
    DM_DEPS_SH=1 PATH="$T/bin:$PATH" timeout 300 make --no-print-directory "$@" >"$T/out" 2>&1
}
called() { [ -s "$T/calls" ]; }

# plain make: lists the missing package, stops, installs nothing
if mk BUILD_DEBS="make $FAKE"; then
    bad "make: a missing package stops the build" "make exited 0"
elif grep -q "missing Debian packages: $FAKE\$" "$T/out" && grep -q 'make deps' "$T/out" && ! called; then
    ok "make: a missing package is listed, the build stops, nothing is installed"
else
    bad "make: a missing package is listed, the build stops, nothing is installed" \
        "$(tail -5 "$T/out"; cat "$T/calls" 2>/dev/null)"
fi
# a missing test package does not stop `make`
if mk TEST_DEBS="$FAKE" && ! called; then
    ok "make: a missing test package does not stop the build"
else
    bad "make: a missing test package does not stop the build" "$(tail -5 "$T/out"; cat "$T/calls" 2>/dev/null)"
fi
# make install: the same check
if mk install DESTDIR="$T/root" BUILD_DEBS="make $FAKE"; then
    bad "make install: a missing package stops it" "make exited 0"
else
    grep -q "missing Debian packages: $FAKE\$" "$T/out" && ! called && [ ! -e "$T/root" ] &&
        ok "make install: a missing package is listed, nothing installed" ||
        bad "make install: a missing package is listed, nothing installed" "$(tail -5 "$T/out")"
fi
# a test target other than check and demo: lists, does not install
if mk unit TEST_DEBS="$FAKE"; then
    bad "make unit: a missing test package stops it" "make exited 0"
else
    grep -q "missing Debian packages: $FAKE\$" "$T/out" && ! called &&
        ok "make unit: a missing test package is listed, nothing installed" ||
        bad "make unit: a missing test package is listed, nothing installed" "$(tail -5 "$T/out")"
fi

# make deps, make check, make demo: install the missing package (the stand-in apt-get fails)
for target in deps check demo; do
    if mk "$target" TEST_DEBS="$FAKE"; then
        bad "make $target: installs what is missing" "make exited 0 with apt-get failing"
    elif grep -q "apt-get install .*$FAKE" "$T/calls" 2>/dev/null && grep -q "could not install: $FAKE" "$T/out"; then
        ok "make $target: installs what is missing (apt-get install $FAKE), stops when it cannot"
    else
        bad "make $target: installs what is missing" "$(tail -5 "$T/out"; cat "$T/calls" 2>/dev/null)"
    fi
done
# make deps with everything there: no apt-get
if mk deps && ! called; then
    ok "make deps: nothing missing, nothing run"
else
    bad "make deps: nothing missing, nothing run" "$(tail -5 "$T/out"; cat "$T/calls" 2>/dev/null)"
fi

echo "deps: $pass passed, $fail failed"
[ "$fail" = 0 ]
