# SPDX-License-Identifier: ISC
#
# make bench: tests/bench/run.py against a private clamd; writes
# tests/bench/RESULTS.md and prints it.  Included by the top Makefile, so
# BIN, BUILDDIR, TARGET, HOST_TARGET, HOST_CC, PYTHON, Q and step are its.
#
#   build/bench/floor           tests/bench/minimal.c, static musl like clamhook
#   build/bench/spawn           tests/bench/spawn.c, the start-up timer
#   build/bench/rss             tests/bench/rss.c, a tool's own peak RSS
#   build/bench/clamhook-glibc  a glibc build of src/ for valgrind's counts
#
# The benchmark runs host binaries only.  BENCH_BUDGET_S, BENCH_RUNS,
# BENCH_NICE, BENCH_QUICK=1 and BENCH_KEEP=1 are passed through (see run.py).

BENCH_DIR := $(BUILDDIR)/bench
BENCH_CC ?= musl-gcc
BENCH_FLOOR := $(BENCH_DIR)/floor
BENCH_GLIBC := $(BENCH_DIR)/clamhook-glibc
BENCH_RSS := $(BENCH_DIR)/rss
BENCH_FLOOR_FLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Os \
	-ffunction-sections -fdata-sections -static -Wl,--gc-sections

BENCH_SPAWN := $(BENCH_DIR)/spawn

$(BENCH_FLOOR): tests/bench/minimal.c
	@mkdir -p $(@D)
	$(call step,CC,$@)
	$(Q)$(BENCH_CC) $(BENCH_FLOOR_FLAGS) -o $@ $<

$(BENCH_SPAWN): tests/bench/spawn.c
	@mkdir -p $(@D)
	$(call step,HOSTCC,$@)
	$(Q)$(HOST_CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -o $@ $<

$(BENCH_RSS): tests/bench/rss.c
	@mkdir -p $(@D)
	$(call step,CC,$@)
	$(Q)$(BENCH_CC) $(BENCH_FLOOR_FLAGS) -o $@ $<

$(BENCH_GLIBC): $(SRCS) $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(call step,HOSTCC,$@)
	$(Q)$(HOST_CC) -std=c11 -D_GNU_SOURCE -DCLAMHOOK_CLEAN_UP -O2 -g -Isrc \
		$(SRCS) -linih -o $@

.PHONY: bench
ifeq ($(TARGET),$(HOST_TARGET))
bench: $(BIN) $(TOP_BIN) $(BENCH_FLOOR) $(BENCH_SPAWN) $(BENCH_RSS) \
	$(BENCH_GLIBC)
	$(Q)CLAMHOOK_BIN='$(call sq,$(abspath $(BIN)))' \
		BENCH_FLOOR='$(call sq,$(abspath $(BENCH_FLOOR)))' \
		BENCH_SPAWN='$(call sq,$(abspath $(BENCH_SPAWN)))' \
		BENCH_RSS='$(call sq,$(abspath $(BENCH_RSS)))' \
		BENCH_GLIBC='$(call sq,$(abspath $(BENCH_GLIBC)))' \
		MAKE='$(call sq,$(MAKE))' \
		$(PYTHON) tests/bench/run.py
else
bench:
	@echo 'make bench runs on the host only (TARGET=$(HOST_TARGET)),' \
		'not TARGET=$(TARGET)' >&2
	@exit 2
endif
