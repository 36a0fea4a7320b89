# driftmon: build, test, demo.  `make help` lists the targets.
#
# User CC / CFLAGS / LDFLAGS stay overridable; the project's own flags live in
# DM_* variables.  Sanitizer builds go to their own directory (build/asan).

CC      ?= cc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS    := libpq libcjson gsl libcrypto
DM_WARN := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wundef -Wcast-qual -Wwrite-strings \
           -Wvla -Wnull-dereference -Werror
DM_CFLAGS := -std=c11 -D_GNU_SOURCE -ffp-contract=off -pthread -I. \
             -DDRIFTMON_VERSION='"$(VERSION)"' \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(DM_WARN)
# libpq is not linked: monitor/pq.c opens it on first use (see there); its headers are used.
DM_LIBS := $(shell pkg-config --libs libcjson gsl libcrypto 2>/dev/null) -lcsv -lm -pthread -ldl
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

# Debian packages the build, the tests, the benchmarks and the demo need.
DEB_PKGS := gcc clang make pkg-config libpq-dev libcjson-dev libcsv-dev libgsl-dev \
            libcriterion-dev libssl-dev postgresql postgresql-client python3 python3-numpy \
            python3-scipy python3-pandas valgrind libclang-rt-14-dev chromium time bc
DEPS_STAMP := $(BUILD)/.deps

.PHONY: all deps check unit integration asan valgrind bench demo demo-stop install \
        uninstall format format-check fuzz fuzz-smoke clean help build \
        _check _unit _integration _asan _valgrind _bench _demo _fuzz _fuzz-smoke

# Public targets first install what is missing (make deps), then run again in a sub-make:
# pkg-config flags are read when a Makefile is parsed, so they must be read after the
# packages are there (a fresh machine has none of them).
all check unit integration asan valgrind bench demo fuzz fuzz-smoke: deps
	@$(MAKE) --no-print-directory _$@

_all build: $(BIN) $(GEN)

help:
	@echo "make            build $(BIN) and the data generator"
	@echo "make check      every test: unit, integration (throwaway PostgreSQL), fuzz smoke"
	@echo "make demo       generate Home-Credit-shaped data and run driftmon on it"
	@echo "make bench      benchmarks against the oracle (tests/bench)"
	@echo "make asan       unit tests under AddressSanitizer + UBSan (build/asan)"
	@echo "make valgrind   unit tests under valgrind memcheck"
	@echo "make deps       install missing Debian packages (no-op when present)"
	@echo "make install    install driftmon into \$$DESTDIR\$$PREFIX/bin"

# ---- dependencies ------------------------------------------------------------
# Installs only what is missing; with everything present it costs one dpkg-query.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing \
	    >/dev/null || { echo "could not install:$$missing" >&2; exit 1; }; \
	fi
	@mkdir -p $(BUILD) && touch $@

# ---- build -------------------------------------------------------------------
$(STAMP): FORCE | $(DEPS_STAMP)
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

_valgrind: $(UNIT) $(BIN)
	@rm -f $(BUILD)/valgrind.*.log
	cd tests && valgrind --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \
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

_demo: $(BIN) $(GEN)
	bash tests/demo.sh

demo-stop:
	bash tests/demo.sh stop

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/driftmon/sql
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/driftmon
	for f in sql/*.sql; do [ -e "$$f" ] && install -m 0644 $$f $(DESTDIR)$(PREFIX)/share/driftmon/sql/ || true; done
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local/bin/driftmon|$(PREFIX)/bin/driftmon|' monitor/driftmon.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/driftmon.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/driftmon
	rm -rf $(DESTDIR)$(PREFIX)/share/driftmon
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/driftmon.service

clean:
	rm -rf $(BUILD)
