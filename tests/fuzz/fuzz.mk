# SPDX-License-Identifier: ISC
#
# Fuzzing, included by the top Makefile (-include tests/fuzz/fuzz.mk).
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_RUNS=N] [FUZZ_TARGETS="reply socks"]
#	build each target with clang, libFuzzer and the sanitizers, and run
#	it FUZZ_SECONDS on its corpus, or for N executions when FUZZ_RUNS is
#	given (new inputs go to build/fuzz/new/NAME,
#	crashes to build/fuzz/crash-NAME-*)
#   make check-fuzz
#	build replay with the host compiler (no libFuzzer) and run every
#	target over its corpus: the corpora as regression tests, in plain CI
#
# Both are glibc builds on purpose: a static musl binary cannot carry the
# sanitizers.  The sources are every src/*.c but main.c, compiled once per
# build kind into $(FUZZ_BUILD)/{clang,host}/.

FUZZ_DIR	:= tests/fuzz
FUZZ_BUILD	?= build/fuzz
FUZZ_TARGETS	?= reply socks conf verdict
FUZZ_SECONDS	?= 60
FUZZ_RUNS	?=
FUZZ_CC		?= clang
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS	:= -std=c11 -D_GNU_SOURCE -DCLAMHOOK_CLEAN_UP -g -O1 $(FUZZ_SAN)
FUZZ_RUNFLAGS	?= -max_len=8192 -timeout=10 -rss_limit_mb=2048
REPLAY_CC	?= gcc
REPLAY_SANITIZE	?= -fsanitize=address,undefined -fno-sanitize-recover=all
REPLAY_FLAGS	:= -std=c11 -D_GNU_SOURCE -DCLAMHOOK_CLEAN_UP -DFUZZ_REPLAY \
		   -Wall -Wextra -g -O1 $(REPLAY_SANITIZE)
FUZZ_SRCS	:= $(filter-out src/main.c,$(wildcard src/*.c))
FUZZ_INC	:= -Isrc $(shell pkg-config --cflags inih 2>/dev/null)
FUZZ_LIBS	?= $(shell pkg-config --libs inih 2>/dev/null || echo -linih)
FUZZ_HDRS	:= $(wildcard src/*.h)
FUZZ_COBJ	:= $(FUZZ_SRCS:src/%.c=$(FUZZ_BUILD)/clang/%.o)
FUZZ_HOBJ	:= $(FUZZ_SRCS:src/%.c=$(FUZZ_BUILD)/host/%.o)

.PHONY: fuzz fuzz-build check-fuzz
.SECONDARY: $(FUZZ_COBJ) $(FUZZ_HOBJ) \
	$(FUZZ_TARGETS:%=$(FUZZ_BUILD)/harness/fuzz_%.o)

$(FUZZ_BUILD)/clang/%.o: src/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(FUZZ_INC) \
		-c -o $@ $<

$(FUZZ_BUILD)/host/%.o: src/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(REPLAY_FLAGS) $(FUZZ_INC) -c -o $@ $<

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# The harness itself gets the sanitizers but no coverage instrumentation:
# its own loops (splitting, hashing, checking) would otherwise spend most
# of each run in comparison tracing, and guide nothing.
$(FUZZ_BUILD)/harness/fuzz_%.o: $(FUZZ_DIR)/fuzz_%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_INC) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/harness/fuzz_%.o $(FUZZ_COBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_COBJ) \
		$(FUZZ_LIBS)

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/new/$$t; \
		echo "fuzz_$$t: $(if $(FUZZ_RUNS),$(FUZZ_RUNS) runs,$(FUZZ_SECONDS) s)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(FUZZ_BUILD)/fuzz_$$t $(FUZZ_RUNFLAGS) \
			$(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS)) \
			-print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
			$(FUZZ_BUILD)/new/$$t $(FUZZ_DIR)/corpus/$$t; \
	done

$(FUZZ_BUILD)/replay_%: $(FUZZ_DIR)/fuzz_%.c $(FUZZ_DIR)/replay.c \
    $(FUZZ_HOBJ)
	$(REPLAY_CC) $(REPLAY_FLAGS) -Werror $(FUZZ_INC) -o $@ $< \
		$(FUZZ_DIR)/replay.c $(FUZZ_HOBJ) $(FUZZ_LIBS)

check-fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/replay_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(FUZZ_BUILD)/replay_$$t $(FUZZ_DIR)/corpus/$$t; \
	done
