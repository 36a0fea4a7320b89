#!/usr/bin/env bash
# install.sh - `make install` as a packager runs it: into DESTDIR, under PREFIX.  Checks:
#   - the tree holds the program and the systemd unit, nothing else (the SQL migrations are
#     compiled into the program);
#   - the unit runs the installed program (ExecStart under PREFIX, not DESTDIR) and keeps no
#     /usr/local path; its other lines are the source's;
#   - BINDIR moves the program and the unit's ExecStart together;
#   - a failing step fails make: a DESTDIR that is a file, a unit path taken by a directory
#     (after the program was installed), and, when not root, a DESTDIR without write access;
#   - `make uninstall` removes what was installed.
# Run from the repository root by `make integration` (DM_BUILD: absolute build folder); the
# inner make inherits the outer one's settings (BUILD, CC, CFLAGS, WERROR), so nothing is
# rebuilt.
set -u
cd "$(dirname "$0")/../.."
BUILD=${DM_BUILD:-$PWD/build}
T=$(mktemp -d /tmp/dm-install.XXXXXX)
cleanup() {
    chmod -R u+w "$T" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

# inst DESTDIR [VAR=VALUE...]: make install into DESTDIR with PREFIX=/opt/x; output in $T/out
inst() {
    local d=$1
    shift
    make --no-print-directory install DESTDIR="$d" PREFIX=/opt/x "$@" >"$T/out" 2>&1
}

# ---- the tree -------------------------------------------------------------------------
D=$T/root
if inst "$D"; then
    ok "make install DESTDIR=... PREFIX=/opt/x"
else
    bad "make install DESTDIR=... PREFIX=/opt/x" "$(tail -20 "$T/out")"
fi
got=$(cd "$D" 2>/dev/null && find . -type f | sort | tr '\n' ' ')
want="./opt/x/bin/driftmon ./opt/x/lib/systemd/system/driftmon.service "
[ "$got" = "$want" ] && ok "the program and the unit, nothing else" ||
    bad "the program and the unit, nothing else" "got: $got"
bin=$D/opt/x/bin/driftmon
unit=$D/opt/x/lib/systemd/system/driftmon.service
if cmp -s "$bin" "$BUILD/driftmon" && [ "$(stat -c %a "$bin" 2>/dev/null)" = 755 ]; then
    ok "the program is $BUILD/driftmon, mode 0755"
else
    bad "the program is $BUILD/driftmon, mode 0755" "$(ls -l "$bin" "$BUILD/driftmon" 2>&1)"
fi
"$bin" --version >"$T/v" 2>&1 && grep -qF "$(cat VERSION)" "$T/v" &&
    ok "the installed program runs (--version)" || bad "the installed program runs (--version)" "$(cat "$T/v")"
[ "$(stat -c %a "$unit" 2>/dev/null)" = 644 ] && ok "the unit is mode 0644" ||
    bad "the unit is mode 0644" "$(ls -l "$unit" 2>&1)"

# ---- the unit -------------------------------------------------------------------------
exec_start=$(grep '^ExecStart=' "$unit" 2>/dev/null)
[ "$exec_start" = "ExecStart=/opt/x/bin/driftmon serve" ] &&
    ok "ExecStart runs /opt/x/bin/driftmon" || bad "ExecStart runs /opt/x/bin/driftmon" "$exec_start"
if [ -f "$unit" ] && ! grep -n '/usr/local' "$unit" >"$T/g" && ! grep -nF "$T" "$unit" >>"$T/g"; then
    ok "no /usr/local and no DESTDIR in the unit"
else
    bad "no /usr/local and no DESTDIR in the unit" "$(cat "$T/g")"
fi
# the lines that name no path under the prefix are the source's, in order
if diff <(grep -v '/usr/local' monitor/driftmon.service) <(grep -v '/opt/x' "$unit") >"$T/d"; then
    ok "the unit's other lines are the source's"
else
    bad "the unit's other lines are the source's" "$(head -20 "$T/d")"
fi

# ---- BINDIR ---------------------------------------------------------------------------
if inst "$T/b" BINDIR=/opt/x/sbin && [ -x "$T/b/opt/x/sbin/driftmon" ] &&
    grep -qx 'ExecStart=/opt/x/sbin/driftmon serve' "$T/b/opt/x/lib/systemd/system/driftmon.service"; then
    ok "BINDIR=/opt/x/sbin: the program and ExecStart there"
else
    bad "BINDIR=/opt/x/sbin: the program and ExecStart there" "$(tail -5 "$T/out")"
fi

# ---- a failing step fails make ----------------------------------------------------------
: >"$T/file"
if inst "$T/file"; then
    bad "a DESTDIR that is a file: make install fails" "make exited 0: $(tail -5 "$T/out")"
else
    grep -q "$T/file" "$T/out" && ok "a DESTDIR that is a file: make install fails, naming it" ||
        bad "a DESTDIR that is a file: make install fails, naming it" "$(tail -5 "$T/out")"
fi
# the last step (the unit) fails after the program was installed
mkdir -p "$T/u/opt/x/lib/systemd/system/driftmon.service"
if inst "$T/u"; then
    bad "a unit path taken by a directory: make install fails" "make exited 0: $(tail -5 "$T/out")"
else
    [ -x "$T/u/opt/x/bin/driftmon" ] && ok "a unit path taken by a directory: make install fails" ||
        bad "a unit path taken by a directory: make install fails" \
            "it failed before the unit's step: $(tail -5 "$T/out")"
fi
if [ "$(id -u)" != 0 ]; then
    mkdir -p "$T/ro" && chmod 0555 "$T/ro"
    if inst "$T/ro"; then
        bad "an unwritable DESTDIR: make install fails" "make exited 0"
    else
        ok "an unwritable DESTDIR: make install fails"
    fi
else
    echo "note: root writes anywhere; the unwritable DESTDIR case runs for other users only"
fi

# ---- uninstall ------------------------------------------------------------------------
if make --no-print-directory uninstall DESTDIR="$D" PREFIX=/opt/x >"$T/out" 2>&1 &&
    [ -z "$(find "$D" -type f)" ]; then
    ok "make uninstall removes both files"
else
    bad "make uninstall removes both files" "$(find "$D" -type f; tail -5 "$T/out")"
fi

echo "install: $pass passed, $fail failed"
[ "$fail" = 0 ]
