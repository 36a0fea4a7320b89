# driftmon: build, test, demo.  `make help` lists the targets.
#
# User CC / CFLAGS / LDFLAGS stay overridable; the project's own flags live in
# DM_* variables.  Sanitizer builds go to their own directory (build/asan, build/tsan).
# WERROR=1 makes warnings errors (CI sets it, .ci/run): off by default, so that a compiler
# or flags we do not test (a newer gcc, -O3) cannot stop a build on a new warning.

CC      ?= cc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
BUILD   ?= build
WERROR  ?= 0

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS    := libpq libcjson gsl libcrypto libmicrohttpd libsystemd
DM_WARN := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wundef -Wcast-qual -Wwrite-strings \
           -Wvla -Wnull-dereference $(if $(filter 1,$(WERROR)),-Werror)
DM_CFLAGS := -std=c11 -D_GNU_SOURCE -ffp-contract=off -pthread -I. \
             -DDRIFTMON_VERSION='"$(VERSION)"' \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(DM_WARN)
DM_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lm -pthread
TEST_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs criterion 2>/dev/null)

LIB_SRC  := $(sort $(wildcard stats/*.c reports/*.c monitor/*.c))
LIB_SRC  := $(filter-out monitor/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/monitor/main.o
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
GEN_SRC  := $(sort $(wildcard tests/gen/*.c))
GEN_OBJ  := $(GEN_SRC:%.c=$(BUILD)/obj/%.o)

BIN  := $(BUILD)/driftmon
LIB  := $(BUILD)/libdriftmon.a
UNIT := $(BUILD)/unit-tests
GEN  := $(BUILD)/dm-gen

# Rebuild everything when the flags or the list of sources change.
STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(CFLAGS) $(DM_CFLAGS) $(LDFLAGS) $(LIB_SRC) $(UNIT_SRC) $(GEN_SRC)

# Debian packages: BUILD_DEBS build and install driftmon; the tests, the benchmarks and
# the demo need TEST_DEBS too.
BUILD_DEBS := gcc make pkg-config libpq-dev libcjson-dev libcsv-dev libgsl-dev libssl-dev \
              libmicrohttpd-dev libsystemd-dev
TEST_DEBS  := clang libcriterion-dev postgresql postgresql-client python3 python3-numpy \
              python3-scipy python3-pandas python3-sklearn valgrind libclang-rt-14-dev chromium \
              time bc \
              prometheus
DEB_PKGS   := $(BUILD_DEBS) $(TEST_DEBS)

.PHONY: all deps check unit integration asan tsan valgrind bench demo demo-stop install \
        uninstall format format-check fuzz fuzz-smoke clean help build _debs-build _debs \
        _check _unit _integration _asan _tsan _valgrind _bench _demo _fuzz _fuzz-smoke

all: build

# Nothing is installed unless asked: `make deps`, or the README's two commands, `make check`
# and `make demo`.  Every other target lists the Debian packages it misses and stops.  check
# and demo run again in a sub-make: pkg-config flags are read when a Makefile is parsed, so
# they must be read after `make deps` installed the packages (a fresh machine has none of
# them); the other test targets run their _target the same way.
check demo: deps
	@$(MAKE) --no-print-directory _$@
unit integration asan tsan valgrind bench fuzz fuzz-smoke: _debs
	@$(MAKE) --no-print-directory _$@

build: $(BIN) $(GEN)

help:
	@echo "make            build $(BIN) and the data generator; a missing Debian package"
	@echo "                is listed and stops the build (nothing is installed)"
	@echo "make deps       install the missing Debian packages the build, the tests and the"
	@echo "                demo need (apt-get; root or sudo; a no-op when all are there)"
	@echo "make check      make deps, then every test: unit, integration (throwaway"
	@echo "                PostgreSQL), fuzz smoke"
	@echo "make demo       make deps, then generate Home-Credit-shaped data and run driftmon on it"
	@echo "make bench      benchmarks against the oracle (tests/bench): the bench shape, and"
	@echo "                the same at full precision (17 digits, as real exports)"
	@echo "make asan       unit tests under AddressSanitizer + UBSan (build/asan)"
	@echo "make tsan       the threaded code under ThreadSanitizer (build/tsan): cli.sh,"
	@echo "                check.sh, metrics.sh and verify.sh with the tsan program; fails on any report"
	@echo "make valgrind   unit tests under valgrind memcheck"
	@echo "make install    driftmon into \$$DESTDIR\$$BINDIR (\$$PREFIX/bin), its systemd unit"
	@echo "                into \$$DESTDIR\$$UNITDIR (\$$PREFIX/lib/systemd/system)"
	@echo "make uninstall  remove what make install installed"
	@echo "WERROR=1        warnings are errors (CI: .ci/run); off by default"

# ---- dependencies ------------------------------------------------------------
# $(call missing_debs,PKGS): shell code setting $$missing to those of PKGS that dpkg does
# not list as installed (one dpkg-query).
missing_debs = installed=" $$(dpkg-query -W -f='$${db:Status-Status} $${Package}\n' $(1) 2>/dev/null \
	  | awk '$$1 == "installed" { printf "%s ", $$2 }')"; \
	missing=""; for p in $(1); do \
	  case "$$installed" in *" $$p "*) ;; *) missing="$$missing $$p" ;; esac; \
	done

# $(call need_debs,PKGS): list the missing PKGS and fail.  Without dpkg (not Debian) the
# packages are not checked: the compiler and pkg-config say what is missing.
need_debs = if command -v dpkg-query >/dev/null; then \
	  $(call missing_debs,$(1)); \
	  if [ -n "$$missing" ]; then \
	    echo "missing Debian packages:$$missing" >&2; \
	    echo "install them with: make deps (or apt-get install$$missing)" >&2; \
	    exit 1; \
	  fi; \
	fi

_debs-build:
	@$(call need_debs,$(BUILD_DEBS))
_debs:
	@$(call need_debs,$(DEB_PKGS))

# Installs only what is missing; with everything present it costs one dpkg-query.
deps:
	@command -v dpkg-query >/dev/null || { \
	  echo "make deps installs Debian packages; install the equivalents of: $(DEB_PKGS)" >&2; \
	  exit 1; }
	@$(call missing_debs,$(DEB_PKGS)); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing \
	    >/dev/null || { echo "could not install:$$missing" >&2; exit 1; }; \
	fi

# ---- build -------------------------------------------------------------------
$(STAMP): FORCE | _debs-build
	@mkdir -p $(BUILD)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
FORCE:

$(BUILD)/obj/%.o: %.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(DM_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(DM_CFLAGS) $(TEST_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# SQL migrations compiled in (monitor/migrations.h): `driftmon init` reads no files.
# The .list file changes when a migration is added or removed.
MIGRATIONS := $(sort $(wildcard sql/[0-9]*.sql))
$(LIB): $(BUILD)/obj/gen/migrations.o
$(BUILD)/gen/migrations.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MIGRATIONS)' | cmp -s - $@ || echo '$(MIGRATIONS)' > $@
$(BUILD)/gen/migrations.c: sql/embed.sh $(MIGRATIONS) $(BUILD)/gen/migrations.list
	sh sql/embed.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/migrations.o: $(BUILD)/gen/migrations.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(DM_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<
-include $(BUILD)/obj/gen/migrations.d

# The powers of five of the exact decimal parser (monitor/pow5.h), computed with big integers
# at build time by tools/gen_pow5.c: constant data, nothing computed at start-up.
$(LIB): $(BUILD)/obj/gen/pow5.o
$(BUILD)/tools/gen_pow5: tools/gen_pow5.c monitor/pow5.h $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(DM_CFLAGS) -O1 -o $@ $<
$(BUILD)/gen/pow5.c: $(BUILD)/tools/gen_pow5
	@mkdir -p $(dir $@)
	$< > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/pow5.o: $(BUILD)/gen/pow5.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(DM_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<
-include $(BUILD)/obj/gen/pow5.d

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DM_LIBS)

$(GEN): $(GEN_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DM_LIBS)

$(UNIT): $(UNIT_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(DM_LIBS)

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(GEN_OBJ:.o=.d)

# ---- tests -------------------------------------------------------------------
# DM_SHARED: the read-only folder with the oracle and the real samples.
DM_SHARED ?= $(abspath ../shared)
export DM_SHARED
export DM_BUILD := $(abspath $(BUILD))

# tests/run.sh runs every part even when one fails, lists what was skipped and what failed, and
# ends with one line "LABEL: N passed, N failed, N skipped"; it fails when a test failed and,
# with CI=true, when one was skipped.  Logs: $(BUILD)/test-logs.
_unit: $(UNIT) $(BIN) $(GEN)
	@bash tests/run.sh unit unit

_integration: $(BIN) $(GEN)
	@bash tests/run.sh integration integration

_check: $(UNIT) $(BIN) $(GEN)
	@bash tests/run.sh check unit integration 'fuzz-smoke=$(MAKE) --no-print-directory _fuzz-smoke'

_asan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" $(BUILD)/asan/unit-tests $(BUILD)/asan/driftmon
	cd tests && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(abspath $(BUILD))/asan/unit-tests --jobs 1 2>&1 | tee $(abspath $(BUILD))/asan/log.txt; \
	  ! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' $(abspath $(BUILD))/asan/log.txt
	grep -q 'Failing: 0 | Crashing: 0' $(abspath $(BUILD))/asan/log.txt
	DM_DRIFTMON=$(abspath $(BUILD))/asan/driftmon bash tests/integration/cli.sh

# tsan: ThreadSanitizer on the threaded code.  Criterion 2.4.1 cannot run under it (its
# sandbox maps memory at addresses TSan reserves: "Could not initialize inheritable arena",
# Criterion issue 274), so the threads are exercised through the program built with
# -fsanitize=thread: cli.sh (compare and profile: the worker threads, the profile's digest
# thread, two CSV files read at once) and check.sh (the COPY streams, the reference thread,
# the digest hurried and helped), metrics.sh (the metrics endpoint's HTTP thread reading
# the loop's published snapshots) and verify.sh (the documents' pass on its own thread and
# connection while the chain is walked).  In this build a CSV file of 64 KiB or more is read by two
# threads, so that the two-reader path runs too.  Reports go to $(BUILD)/tsan/log.
TSAN_DIR := $(abspath $(BUILD))/tsan
_tsan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=thread -DDM_CSV_SPLIT_MIN_DEFAULT=65536" \
	  LDFLAGS="-fsanitize=thread" $(BUILD)/tsan/driftmon $(BUILD)/tsan/dm-gen
	@rm -rf $(TSAN_DIR)/log && mkdir -p $(TSAN_DIR)/log
	@failed=""; for t in cli check metrics verify; do \
	  echo "== tests/integration/$$t.sh (ThreadSanitizer)"; \
	  TSAN_OPTIONS="log_path=$(TSAN_DIR)/log/tsan second_deadlock_stack=1" \
	    DM_BUILD=$(TSAN_DIR) DM_DRIFTMON=$(TSAN_DIR)/driftmon bash tests/integration/$$t.sh \
	    || failed="$$failed $$t.sh"; \
	done; \
	if grep -l 'WARNING: ThreadSanitizer' $(TSAN_DIR)/log/* 2>/dev/null; then \
	  grep -h -A12 'WARNING: ThreadSanitizer' $(TSAN_DIR)/log/* >&2; \
	  echo "ThreadSanitizer reports: the files above" >&2; exit 1; fi; \
	if [ -n "$$failed" ]; then echo "FAILED under ThreadSanitizer:$$failed" >&2; exit 1; fi; \
	echo "tsan: cli.sh, check.sh, metrics.sh and verify.sh passed, no ThreadSanitizer report"

_valgrind: $(UNIT) $(BIN)
	@rm -f $(BUILD)/valgrind.*.log
	cd tests && DM_TEST_PARSE_DOUBLES=20000 valgrind --trace-children=yes --trace-children-skip='/bin/*,/usr/bin/*' --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  --error-exitcode=99 --log-file=$(abspath $(BUILD))/valgrind.%p.log \
	  $(abspath $(UNIT)) --jobs 1 > $(abspath $(BUILD))/valgrind.out 2>&1 || true
	@ls $(BUILD)/valgrind.*.log >/dev/null 2>&1 || { echo "valgrind wrote no log" >&2; exit 1; }
	@grep -q 'Failing: 0 | Crashing: 0' $(BUILD)/valgrind.out || { tail -20 $(BUILD)/valgrind.out >&2; exit 1; }
	@if grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]' $(BUILD)/valgrind.*.log; then \
	  echo "valgrind found errors (logs above)" >&2; exit 1; fi
	@echo "valgrind: $$(ls $(BUILD)/valgrind.*.log | wc -l) processes checked, no error, no leak; $$(grep -o 'Tested: [0-9]*' $(BUILD)/valgrind.out)"
	@rm -f $(BUILD)/valgrind.*.log

# fuzz: the harnesses for minutes (FUZZ_SECONDS each, default 180); fuzz-smoke, run by
# make check: each harness builds and runs 10 seconds without a crash.
_fuzz:
	bash tests/fuzz/run.sh $(or $(FUZZ_SECONDS),180)

_fuzz-smoke:
	bash tests/fuzz/run.sh 10

_bench: $(BIN) $(GEN)
	bash tests/bench/compare.sh
	bash tests/bench/compare.sh --full-precision

_demo: $(BIN) $(GEN)
	bash tests/demo.sh

demo-stop:
	bash tests/demo.sh stop

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

# The program and its systemd unit, nothing else (the SQL migrations are compiled in).  The
# unit's paths under /usr/local follow BINDIR and PREFIX.  Any failing step fails the target.
install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/driftmon
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/|$(PREFIX)/|g' \
	  monitor/driftmon.service > $(DESTDIR)$(UNITDIR)/driftmon.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/driftmon.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/driftmon $(DESTDIR)$(UNITDIR)/driftmon.service

clean:
	rm -rf $(BUILD)
