# Postern build. `make` builds build/postern; `make test` installs missing
# Debian packages (as root), builds, and runs every test; `make run` starts a
# demo server on loopback. See README.md.

CC	?= cc
ifeq ($(origin CC),default)
CC	= cc
endif
PYTHON	?= /usr/bin/python3
BUILD	?= build
PKGS	= libevent libevent_openssl libevent_pthreads openssl libconfig sqlite3 \
	  libseccomp libunbound

WARN	= -Wall -Wextra -Wformat=2 -Wshadow -Wno-unused-parameter \
	  -Wmissing-prototypes -Wstrict-prototypes -Werror
HARDEN	= -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT	?= -O2 -g
CFLAGS_ALL = -std=gnu11 $(OPT) $(WARN) $(HARDEN) -D_GNU_SOURCE -Isrc \
	  $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS) $(LDFLAGS)
LIBS	= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt -lpthread

ALL_SRC	= $(shell find src -name '*.c' | sort)
TEST_SRC = $(filter %_test.c,$(ALL_SRC))
FUZZ_SRC = $(filter %_fuzz.c,$(ALL_SRC))
MAIN_SRC = src/postern.c
LIB_SRC	= $(filter-out $(TEST_SRC) $(FUZZ_SRC) $(MAIN_SRC),$(ALL_SRC))
LIB_OBJ	= $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
TESTS	= $(TEST_SRC:src/%.c=$(BUILD)/test/%)
FUZZERS	= $(FUZZ_SRC:src/%.c=$(BUILD)/fuzz/%)

.PHONY: all runas-user debug deps run test unit integration asan fuzz fuzz-smoke bench bench-checks bench-filters bench-imap lint clean clang

all: $(BUILD)/postern runas-user

# The default run_as user; created when make runs as root (cheap check).
runas-user:
	@sh scripts/deps.sh --user-only

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/libpostern.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/postern: $(BUILD)/obj/postern.o $(BUILD)/libpostern.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/test/%: src/%.c $(BUILD)/libpostern.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libpostern.a $(LIBS) -lcmocka

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/postern.d

# Debian packages the build and the tests need; installed when run as root.
deps:
	@sh scripts/deps.sh

unit: $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done

# The integration suite runs in PYTEST_JOBS pytest-xdist worker processes:
# its tests mostly wait on sockets and timers, so more workers than cores
# pay (6 on 2 cores: 4.4x faster than one process, 8 and 12 only a little
# more; docs/testing.md). PYTEST_JOBS=0 runs it in one process, as does a
# machine without python3-pytest-xdist. Tests share no port, file or
# address: docs/testing.md says what a new test must do for that.
PYTEST_JOBS ?= 6
PYTEST_DIST ?= load
XDIST_ARGS = $(shell $(PYTHON) -c 'import xdist' 2>/dev/null && \
	echo '-n $(PYTEST_JOBS) --dist $(PYTEST_DIST)')

integration: $(BUILD)/postern debug
	POSTERN_BIN=$(abspath $(BUILD)/postern) POSTERN_DEBUG_BIN=$(abspath build-debug/postern) \
		$(PYTHON) -m pytest -q $(XDIST_ARGS) tests/integration $(PYTEST_ARGS)

# Builds run on every core; tests and fuzzers are run one after another
# (fuzz-one.sh runs two fuzzers at a time; the integration suite runs in
# PYTEST_JOBS processes).
JOBS	?= $(shell nproc 2>/dev/null || echo 2)

# lint is CPU work and the integration suite mostly waits on sockets and
# timers: lint runs beside it, niced, and its output follows the suite's.
test: deps
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) clang
	$(MAKE) -j$(JOBS) unit
	$(MAKE) -j$(JOBS) fuzz-smoke
	$(MAKE) -j$(JOBS) debug
	@nice -n 10 $(MAKE) --no-print-directory lint >$(BUILD)/lint.log 2>&1 & lpid=$$!; \
	$(MAKE) -j$(JOBS) integration; rc=$$?; \
	wait $$lpid; lrc=$$?; echo "== lint"; cat $(BUILD)/lint.log; \
	[ $$lrc = 0 ] || echo "make test: lint failed (above)"; \
	[ $$rc = 0 ] && [ $$lrc = 0 ]
	$(MAKE) -j$(JOBS) asan

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Server processes run chrooted in data_dir, where LeakSanitizer cannot read
# /proc: leaks are checked by the unit tests and the fuzzers; the integration
# harness fails any test whose server printed a sanitizer report.
ASAN_BUILD = $(MAKE) BUILD=build-asan \
	OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	EXTRA_LDFLAGS="-fsanitize=address,undefined" CFLAGS="-U_FORTIFY_SOURCE"
asan: deps
	$(ASAN_BUILD) unit
	ASAN_OPTIONS=detect_leaks=0 $(ASAN_BUILD) integration

# A build with test hooks (XPROBE: a session tries to open a file), used
# by the integration tests that prove the process boundaries. Never installed.
# Only smtp_session.c has the hook: it is compiled again with it and linked
# with the rest of the normal build (build/), not a whole second build.
DEBUG_PROBE_SRC = src/smtp/smtp_session.c
debug:
	@$(MAKE) --no-print-directory BUILD=build OPT="-O2 -g" EXTRA_CFLAGS= \
		EXTRA_LDFLAGS= CFLAGS= build-debug/postern

build-debug/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DPOSTERN_DEBUG_PROBE -MMD -MP -c $< -o $@

build-debug/postern: build/obj/postern.o $(DEBUG_PROBE_SRC:src/%.c=build-debug/obj/%.o) build/libpostern.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

-include $(DEBUG_PROBE_SRC:src/%.c=build-debug/obj/%.d)

# The same build under clang, warnings as errors. -O1 without debug
# information: the same diagnostics (clang warns in its front end), in
# about half the time of -O2 -g; nothing built here is run.
clang:
	$(MAKE) BUILD=build-clang CC=clang OPT="-O1" all $(TESTS:$(BUILD)/%=build-clang/%)

# libFuzzer targets: clang, each *_fuzz.c linked with the library built for fuzzing.
FUZZ_BUILD = build-fuzz
FUZZ_FLAGS = -fsanitize=fuzzer-no-link,address,undefined -g -O1
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT="$(FUZZ_FLAGS)" CFLAGS="-U_FORTIFY_SOURCE" $(FUZZ_BUILD)/libpostern.a
	@set -e; for f in $(FUZZ_SRC); do \
		n=$$(basename $$f .c); \
		clang -std=gnu11 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer,address,undefined \
			$$(pkg-config --cflags $(PKGS)) -o $(FUZZ_BUILD)/$$n $$f $(FUZZ_BUILD)/libpostern.a $(LIBS); \
	done

FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
# Each target runs over its committed seeds plus what it found before, two
# at a time; any crash, leak or sanitizer report fails the run and leaves
# the input in build-fuzz/ (crash-*, leak-*) and the log in build-fuzz/*.log.
fuzz: fuzz-build
	@for f in $(FUZZ_SRC); do basename $$f .c; done | \
		xargs -P $(FUZZ_JOBS) -I{} sh scripts/fuzz-one.sh {} $(FUZZ_SECONDS) $(FUZZ_BUILD)

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=2

run: deps all
	@sh scripts/run-demo.sh

bench: deps all
	@sh bench/run.sh

# The cost of the sender checks alone (also part of `make bench`).
bench-checks: deps all
	@sh bench/checks.sh

# Throughput with the attachment and content filters off and on, for 10 KB
# and 1 MB MIME messages, and the workers' memory per session (also part of
# `make bench`).
bench-filters: deps all
	@sh bench/filters.sh

# IMAP against Dovecot over the same Maildir: FETCH messages/s on 10,000
# messages and memory per idle connection at 1,000 (also part of `make
# bench`; root: Dovecot reads the Maildir as its owner).
bench-imap: deps all
	@IMAP_DOC=1 sh bench/imap.sh

# cppcheck and clang-tidy over src/ (.clang-tidy, tests/lint/); fails on any
# finding not suppressed with a reason. LINT_JOBS=2 by default.
lint:
	@sh scripts/lint.sh

clean:
	rm -rf build build-asan build-clang build-fuzz
