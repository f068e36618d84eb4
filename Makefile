# SPDX-License-Identifier: MIT
# shoal — one non-recursive GNU Makefile.
#
#   make            build build/shoal and build/shoal-sim
#   make test       install missing packages, build, run every test
#   make demo       a local 5-agent cluster doing its job
#   make asan       the whole test suite under ASan + UBSan ($(B)/asan/)
#   make valgrind   unit tests and fuzz replays under valgrind memcheck
#   make fuzz       libFuzzer (clang) on every decoder, FUZZ_SECONDS each
#   make fuzz-corpus rewrite the committed seed inputs of the fuzz targets
#   make bench      the figures of DESIGN.md §7, side by side with serf
#   make check-deps prove core/, gossip/, sched/ are pure
#   make format     clang-format every source file
#
# Objects and binaries go under $(B) (build/ by default; the ASan build in
# $(B)/asan, the fuzz build in $(B)/fuzz). WERROR=0 turns
# warnings back into warnings. Libraries come from pkg-config; the first
# build runs scripts/deps, which installs them on Debian when missing.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

B ?= build
WERROR ?= 1
SAN ?= 0
FUZZ_SECONDS ?= 30

PKGS := libsodium msgpack libxxhash

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wvla -Wformat=2
ifeq ($(WERROR),1)
WARN += -Werror
endif

ifeq ($(SAN),1)
OPT ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
else
OPT ?= -O2 -g
endif

# Set by $(B)/config.mk (pkg-config output, made after scripts/deps ran).
PKG_CFLAGS ?=
PKG_LIBS ?=

CPPFLAGS := -I. -D_GNU_SOURCE
CFLAGS_ALL = -std=c11 $(WARN) $(OPT) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(OPT) $(LDFLAGS)
LIBS_ALL = $(PKG_LIBS) -lev -lm
# The agent does without libm (core/num.h): a whole shared library mapped
# for three logarithms was a tenth of its resident memory. A libm call in
# core/, gossip/, sched/ or cli/ fails this link.
SHOAL_LIBS = $(PKG_LIBS) -lev

# ---- configuration: dependencies and pkg-config flags ------------------

NO_CONFIG_GOALS := clean format format-check help
ifneq ($(filter-out $(NO_CONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
include $(B)/config.mk
endif

# msgpack-c is msgpack.pc up to 4.x (Debian 12) and msgpack-c.pc from 6.x.
$(B)/config.mk: scripts/deps Makefile
	@mkdir -p $(B)
	@scripts/deps
	@pkgs="$$(echo '$(PKGS)' | sed "s/msgpack/$$(pkg-config --exists msgpack-c && echo msgpack-c || echo msgpack)/")"; \
	pkg-config --exists $$pkgs cmocka || { \
		echo "make: pkg-config cannot find some of: $$pkgs cmocka (see scripts/deps)" >&2; exit 1; }; \
	printf 'PKG_CFLAGS := %s\nPKG_LIBS := %s\nTEST_LIBS := %s\n' \
		"$$(pkg-config --cflags $$pkgs)" \
		"$$(pkg-config --libs $$pkgs)" \
		"$$(pkg-config --libs cmocka)" > $@.tmp && mv $@.tmp $@

# ---- sources -----------------------------------------------------------

CORE_SRC := $(sort $(wildcard core/*.c))
GOSSIP_SRC := $(sort $(wildcard gossip/*.c))
SCHED_SRC := $(sort $(wildcard sched/*.c))
CLI_SRC := $(filter-out cli/main.c,$(sort $(wildcard cli/*.c)))
SIM_SRC := $(filter-out sim/main.c,$(sort $(wildcard sim/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(sort $(wildcard tests/unit/*.c)))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIB_CORE := $(B)/libshoal-core.a
LIB_GOSSIP := $(B)/libshoal-gossip.a
LIB_SCHED := $(B)/libshoal-sched.a
LIB_CLI := $(B)/libshoal-cli.a
LIB_SIM := $(B)/libshoal-sim.a
# Link order: higher layers first.
PURE_LIBS := $(LIB_SCHED) $(LIB_GOSSIP) $(LIB_CORE)
ALL_LIBS := $(LIB_CLI) $(LIB_SIM) $(PURE_LIBS)

SHOAL := $(B)/shoal
SHOAL_SIM := $(B)/shoal-sim
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(B)/tests/replay_%,$(FUZZ_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))

ALL_OBJ := $(call obj,$(CORE_SRC) $(GOSSIP_SRC) $(SCHED_SRC) $(CLI_SRC) \
	$(SIM_SRC) cli/main.c sim/main.c $(UNIT_SRC) $(UNIT_HELPERS) \
	$(FUZZ_SRC) tests/fuzz/replay.c tests/fuzz/gen_corpus.c $(BENCH_SRC))

# Objects reached only through pattern rules (tests, replay drivers) would
# otherwise count as intermediate files and be deleted after each build.
.SECONDARY: $(ALL_OBJ)

# ---- rules ---------------------------------------------------------------

.PHONY: all
all: $(SHOAL) $(SHOAL_SIM)

$(B)/obj/%.o: %.c $(B)/config.mk
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(LIB_CORE): $(call obj,$(CORE_SRC))
$(LIB_GOSSIP): $(call obj,$(GOSSIP_SRC))
$(LIB_SCHED): $(call obj,$(SCHED_SRC))
$(LIB_CLI): $(call obj,$(CLI_SRC))
$(LIB_SIM): $(call obj,$(SIM_SRC))
$(B)/lib%.a:
	@mkdir -p $(@D)
	@echo "  AR      $@"
	@rm -f $@
	@ar rcs $@ $^ $(if $^,,$(B)/empty.o)

# An empty library still needs one member for ar.
$(B)/empty.o: $(B)/config.mk
	@printf '' | $(CC) -x c -c -o $@ -

$(ALL_LIBS): | $(B)/empty.o

$(SHOAL): $(call obj,cli/main.c) $(LIB_CLI) $(PURE_LIBS)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -Wl,--as-needed -o $@ $^ $(SHOAL_LIBS)

$(SHOAL_SIM): $(call obj,sim/main.c) $(LIB_SIM) $(PURE_LIBS)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(B)/tests/%_test: $(B)/obj/tests/unit/%_test.o $(call obj,$(UNIT_HELPERS)) $(ALL_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL) $(TEST_LIBS)

$(B)/tests/replay_%: $(B)/obj/tests/fuzz/%.o $(B)/obj/tests/fuzz/replay.o $(ALL_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

# The seed inputs of the fuzz targets (committed; see tests/fuzz/gen_corpus.c).
$(B)/tests/gen_corpus: $(B)/obj/tests/fuzz/gen_corpus.o $(LIB_CORE)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

.PHONY: fuzz-corpus
fuzz-corpus: $(B)/tests/gen_corpus
	@$(B)/tests/gen_corpus tests/fuzz/corpus
	@echo "fuzz-corpus: wrote tests/fuzz/corpus/ (commit what changed)"

# Benchmark programs: tests/bench/NAME.c -> $(B)/bench/NAME.
$(B)/bench/%: $(B)/obj/tests/bench/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

-include $(ALL_OBJ:.o=.d)

# ---- tests ---------------------------------------------------------------

.PHONY: test test-unit test-fuzz-replay test-sim test-e2e check-deps tests
tests: $(UNIT_BINS) $(REPLAY_BINS) $(BENCH_BINS) $(SHOAL) $(SHOAL_SIM)

test: tests
	@scripts/check-deps $(B)
	@scripts/run-tests $(B)

test-unit: $(UNIT_BINS)
	@scripts/run-tests --only unit $(B)

test-fuzz-replay: $(REPLAY_BINS)
	@scripts/run-tests --only fuzz $(B)

test-sim: $(SHOAL_SIM)
	@scripts/run-tests --only sim $(B)

test-e2e: $(SHOAL)
	@scripts/run-tests --only e2e $(B)

check-deps: $(PURE_LIBS)
	@scripts/check-deps $(B)

.PHONY: asan
# A build directory of its own (ASAN_B, $(B)/asan by default), so that the
# sanitized objects never mix with the plain ones.
ASAN_B ?= $(B)/asan
asan:
	@$(MAKE) B=$(ASAN_B) SAN=1 test

.PHONY: valgrind
valgrind: $(UNIT_BINS) $(REPLAY_BINS)
	@scripts/deps --valgrind
	@scripts/run-tests --only unit,fuzz --valgrind $(B)

# ---- fuzzing (clang + libFuzzer) ---------------------------------------
#
# Every tests/fuzz/fuzz_NAME.c is a target. The libraries are rebuilt with
# clang, coverage instrumentation and ASan + UBSan under FUZZ_B ($(B)/fuzz/
# by default); each target then runs FUZZ_SECONDS on its committed corpus
# (tests/fuzz/corpus/fuzz_NAME/, read only) plus a work directory of its
# own ($(FUZZ_B)/fuzz_NAME.work/, where new inputs go and which later runs
# start from). FUZZ_TARGETS="fuzz_codec fuzz_addr" picks some. A crash stops
# with the reproducer in $(FUZZ_B)/; once fixed, copy it into the corpus as
# regress-WHAT so that `make test` replays it for ever.

FUZZ_B ?= $(B)/fuzz
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c11 $(WARN) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link $(PKG_CFLAGS)
FUZZ_TARGETS ?= $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_MAX_LEN ?= 65536
FUZZ_LIBS := $(FUZZ_B)/libshoal-sched.a $(FUZZ_B)/libshoal-gossip.a \
	$(FUZZ_B)/libshoal-core.a

$(FUZZ_B)/obj/%.o: %.c $(B)/config.mk | fuzz-deps
	@mkdir -p $(@D)
	@echo "  FUZZ-CC $<"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_B)/libshoal-core.a: $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(CORE_SRC))
$(FUZZ_B)/libshoal-gossip.a: $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(GOSSIP_SRC))
$(FUZZ_B)/libshoal-sched.a: $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(SCHED_SRC))
$(FUZZ_LIBS): | $(B)/empty.o
	@echo "  AR      $@"
	@rm -f $@
	@ar rcs $@ $^ $(if $^,,$(B)/empty.o)

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIBS)
	@echo "  FUZZ-LD $@"
	@$(FUZZ_CC) -g $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm

-include $(wildcard $(FUZZ_B)/obj/*/*.d $(FUZZ_B)/obj/tests/fuzz/*.d)
.SECONDARY: $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(FUZZ_SRC))

.PHONY: fuzz fuzz-deps fuzz-build
fuzz-deps:
	@scripts/deps --fuzz

fuzz-build: $(addprefix $(FUZZ_B)/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@for name in $(FUZZ_TARGETS); do \
		corpus=tests/fuzz/corpus/$$name; work=$(FUZZ_B)/$$name.work; \
		mkdir -p $$work; [ -d $$corpus ] || corpus=; \
		echo "  FUZZ    $$name for $(FUZZ_SECONDS)s"; \
		$(FUZZ_B)/$$name -max_total_time=$(FUZZ_SECONDS) \
			-max_len=$(FUZZ_MAX_LEN) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_B)/$$name- \
			$$work $$corpus >$(FUZZ_B)/$$name.log 2>&1 \
			|| { tail -40 $(FUZZ_B)/$$name.log; \
			     echo "fuzz: $$name failed; reproducer and log under $(FUZZ_B)/"; exit 1; }; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_B)/$$name.log); \
		cov=$$(grep -E '^#[0-9]+' $(FUZZ_B)/$$name.log | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p'); \
		echo "          $$runs runs, coverage $${cov:-?} edges, $$(ls $$work | wc -l) new inputs in $$work, no crash"; \
	done

# ---- demo and benchmarks -------------------------------------------------

.PHONY: demo
demo: all
	@scripts/demo $(B)

.PHONY: bench bench-sim bench-sched bench-packet
# Each part is a script of its own (scripts/bench-PART); scripts/bench
# runs them all and gathers bench-results.json.
bench: all $(BENCH_BINS)
	@scripts/bench $(B)

bench-sim bench-sched bench-packet: bench-%: all $(BENCH_BINS)
	@scripts/bench-$* $(B)

# ---- housekeeping --------------------------------------------------------

SRC_ALL = $(sort $(wildcard core/*.[ch] gossip/*.[ch] sched/*.[ch] cli/*.[ch] \
	sim/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch]))

.PHONY: format format-check
format:
	@clang-format -i $(SRC_ALL)

format-check:
	@clang-format --dry-run --Werror $(SRC_ALL)

.PHONY: clean
# Removes $(B) only (with the ASan and fuzz builds inside it by default), so
# that `make B=build/mine clean` leaves everybody else's build alone.
clean:
	@case '$(B)' in ''|.|./|/|..|../) \
		echo "make clean: refusing to remove B='$(B)'" >&2; exit 1 ;; esac
	rm -rf '$(B)' bench-results.json

.PHONY: help
help:
	@sed -n '2,17p' Makefile | sed 's/^# \{0,1\}//'
