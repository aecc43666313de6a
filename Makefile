# SPDX-License-Identifier: ISC
#
# clamhook: one GNU Makefile, no autoconf.
#
#   make                      static musl ./clamhook for this machine
#   make TARGET=aarch64       build/aarch64/clamhook (x86_64 aarch64 armv7 mipsel)
#   make check                unit, integration, build tests, fuzz corpora
#   make check TARGET=armv7   the same, the integration suite under qemu
#   make check-unit | check-integration | check-build | lint   the parts
#   make sanitize             clang ASan+UBSan build, unit + integration suites
#   make check-all            all CI runs (after toolchain/deps-debian.sh)
#   make install | install-strip | install-board | size | rootfs | dist
#   make demo | peers | clean
#   make fuzz | check-fuzz | bench     see tests/fuzz, tests/bench
#   make help                 every target and variable
#
# Integrators (Buildroot, OpenWrt, Yocto) may pass CC (spaces allowed),
# CROSS_COMPILE, CFLAGS, CPPFLAGS, LDFLAGS, PKG_CONFIG, INIH_CFLAGS,
# INIH_LIBS, PREFIX or prefix, DESTDIR, STRIP and STATIC=0, from the
# environment or the command line.  What the build needs lives in CLAMHOOK_*
# variables, so a command-line CFLAGS= cannot drop it.  ARCH is never read.

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

# The version: src/VERSION, the one place it is written (a release is
# tagged v$(VERSION)); VERSION= overrides it.
VERSION ?= $(shell cat src/VERSION)
BUILDDIR ?= build
V ?= 0
STATIC ?= 1
# Host tools for the unit tests and the sanitizer build (glibc).
HOST_CC ?= gcc
HOST_PKG_CONFIG ?= pkg-config
SANITIZE ?= 0
WERROR ?= 0

# ---------------------------------------------------------------------------
# Target.  TARGET names a file toolchain/<target>.mk (variables only); the
# default is this machine.  A TARGET inherited from the environment that names
# no such file belongs to someone else's build system and is ignored.

KNOWN_TARGETS := $(patsubst toolchain/%.mk,%,$(wildcard toolchain/*.mk))

HOST_MACHINE := $(shell uname -m)
HOST_TARGET := $(or $(strip \
	$(if $(filter x86_64 amd64,$(HOST_MACHINE)),x86_64) \
	$(if $(filter aarch64 arm64,$(HOST_MACHINE)),aarch64) \
	$(if $(filter armv7% armv8l,$(HOST_MACHINE)),armv7) \
	$(if $(filter mips mipsel,$(HOST_MACHINE)),mipsel)),$(HOST_MACHINE))

ifeq ($(origin TARGET),environment)
ifeq ($(filter $(TARGET),$(KNOWN_TARGETS)),)
override TARGET := $(HOST_TARGET)
endif
endif
TARGET ?= $(HOST_TARGET)
ifneq ($(filter asan unit,$(TARGET)),)
$(error TARGET=$(TARGET) is reserved; use SANITIZE=1 or make check-unit)
endif

# Did the integrator choose the compiler?  Decide before the toolchain file
# sets its defaults.
USER_CC := $(if $(filter default undefined,$(origin CC)),,yes)
USER_CROSS := $(if $(filter undefined,$(origin CROSS_COMPILE)),,yes)
# A pkg-config pointed at a sysroot by the environment (Yocto's way) is the
# integrator's choice too.
USER_PKG_CONFIG := $(if $(and $(filter undefined default,$(origin \
	PKG_CONFIG)),$(if $(PKG_CONFIG_LIBDIR)$(PKG_CONFIG_SYSROOT_DIR),,no)),,yes)

ifneq ($(wildcard toolchain/$(TARGET).mk),)
include toolchain/$(TARGET).mk
else ifneq ($(origin TARGET),file)
$(error TARGET=$(TARGET): no toolchain/$(TARGET).mk (known: $(KNOWN_TARGETS)))
endif

# The compiler: the integrator's CC; else $(CROSS_COMPILE)gcc when only a
# prefix was given; else the musl wrapper the toolchain file names; else
# musl-gcc, or cc where cc itself targets musl (Alpine).
ifeq ($(USER_CC),yes)
else ifeq ($(USER_CROSS),yes)
CC = $(CROSS_COMPILE)gcc
else ifneq ($(TOOLCHAIN_CC),)
CC = $(TOOLCHAIN_CC)
else
CC := $(if $(shell command -v musl-gcc),musl-gcc,cc)
endif
CROSS_COMPILE ?= $(TOOLCHAIN_CROSS_COMPILE)
STRIP ?= $(CROSS_COMPILE)strip
PKG_CONFIG ?= $(CROSS_COMPILE)pkg-config
QEMU ?= $(TOOLCHAIN_QEMU)
# The Debian multiarch triple, where libinih-dev:<arch> puts libinih.a.
MULTIARCH ?= $(TOOLCHAIN_MULTIARCH)

# ---------------------------------------------------------------------------
# Sanitizer build: glibc + clang, dynamic, in build/asan.  A static musl
# binary cannot carry ASan, so this is a second build, not a flag of the first.

SAN_CC ?= clang
SAN_CFLAGS ?= -O1 -g -fno-omit-frame-pointer
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
# A sanitizer report must never look like a verdict (1 is "infected"), and
# the tests run clamhook with environments of their own: the defaults are
# built into the binary (sanitizer-defaults.c, generated below; ASAN_OPTIONS
# and UBSAN_OPTIONS still override them).  clamhook allocates its ring once
# at start-up and leaves it to exit, which LeakSanitizer would report on
# every run, so leaks are looked for in the unit tests only.
SAN_DEFAULTS_ASAN := exitcode=86:detect_leaks=0
SAN_DEFAULTS_UBSAN := exitcode=86:print_stacktrace=1
SAN_UNIT_ENV := ASAN_OPTIONS=$${ASAN_OPTIONS:-exitcode=86:detect_leaks=1} \
	UBSAN_OPTIONS=$${UBSAN_OPTIONS:-$(SAN_DEFAULTS_UBSAN)}

ifeq ($(SANITIZE),1)
override TARGET := asan
override CC := $(SAN_CC)
override STATIC := 0
override QEMU :=
BUILD_CFLAGS := $(SAN_CFLAGS) $(SAN_FLAGS)
BUILD_LDFLAGS := $(SAN_FLAGS)
UNIT_RUN_ENV := $(SAN_UNIT_ENV)
else
CFLAGS ?= -Os -g
BUILD_CFLAGS = $(CFLAGS)
BUILD_LDFLAGS = $(LDFLAGS)
UNIT_RUN_ENV :=
endif

# ---------------------------------------------------------------------------
# inih (SPEC §8), the first that applies: INIH_CFLAGS/INIH_LIBS as given;
# pkg-config inih when PKG_CONFIG, PKG_CONFIG_LIBDIR or PKG_CONFIG_SYSROOT_DIR
# was given; Debian's multiarch libinih.a when
# the compiler is a Debian one for that multiarch (the musl wrappers are: the
# archive is built against glibc but links with musl 1.2.3), its header after
# the libc's own; else pkg-config inih, else -linih.

INIH_PKG_CONFIG = $(if $(filter 1,$(SANITIZE)),$(HOST_PKG_CONFIG),$(PKG_CONFIG))
DEBIAN_INIH := $(if $(MULTIARCH),$(wildcard /usr/lib/$(MULTIARCH)/libinih.a))
INIH_FROM := pkg-config
ifeq ($(SANITIZE)$(USER_PKG_CONFIG),0)
ifneq ($(DEBIAN_INIH),)
ifeq ($(shell $(CC) -dumpmachine 2>/dev/null),$(MULTIARCH))
INIH_FROM := debian
endif
endif
endif

PKG_CONFIG_STATIC := $(if $(filter 1,$(STATIC)),--static)
ifeq ($(origin INIH_CFLAGS),undefined)
ifeq ($(INIH_FROM),debian)
INIH_CFLAGS := -idirafter /usr/include
else
INIH_CFLAGS := $(shell $(INIH_PKG_CONFIG) --cflags inih 2>/dev/null)
endif
endif
ifeq ($(origin INIH_LIBS),undefined)
ifeq ($(INIH_FROM),debian)
INIH_LIBS := $(DEBIAN_INIH)
else
INIH_LIBS := $(or $(shell $(INIH_PKG_CONFIG) $(PKG_CONFIG_STATIC) --libs \
	inih 2>/dev/null),-linih)
endif
endif

# ---------------------------------------------------------------------------
# Flags.  CLAMHOOK_* are required and always present; CFLAGS, CPPFLAGS and
# LDFLAGS are the user's and come after them.

WARN_FLAGS := -Wall -Wextra -Werror=implicit-function-declaration \
	-Werror=format-security
ifneq ($(filter true 1 yes,$(CI))$(filter 1,$(WERROR)),)
WARN_FLAGS += -Werror
endif

# CLAMHOOK_CLEAN_UP (src/heap.c): free what is kept to exit, for valgrind
# and the sanitizers, and never replace free() in a shared C library.  A
# static musl link leaves it out and keeps musl's small allocator.
CLEAN_UP := -DCLAMHOOK_CLEAN_UP
CLAMHOOK_CPPFLAGS = -D_GNU_SOURCE -Isrc \
	-DCLAMHOOK_VERSION='"$(VERSION)"' $(if $(filter 1,$(STATIC)),,$(CLEAN_UP))
# Size: no unwind tables (C, no exceptions; the sanitizer build keeps
# them for its stack traces); a static binary needs no RELRO padding (its
# GOT is tiny) nor a separate code segment, which on 64 KiB-page targets
# (aarch64, mipsel) pad the file by up to 64 KiB each.
SIZE_CFLAGS := $(if $(filter 1,$(SANITIZE)),,-fno-asynchronous-unwind-tables \
	-fno-unwind-tables)
SIZE_LDFLAGS := $(if $(filter 1,$(STATIC)),$(if $(filter 1,$(SANITIZE)),, \
	-Wl,-z,norelro -Wl,-z,noseparate-code))
CLAMHOOK_CFLAGS = -std=c11 $(WARN_FLAGS) -ffunction-sections -fdata-sections \
	-ffile-prefix-map=$(CURDIR)=. $(SIZE_CFLAGS)
CLAMHOOK_LDFLAGS = $(if $(filter 1,$(STATIC)),-static) -Wl,--gc-sections \
	-Wl,--build-id=sha1 $(SIZE_LDFLAGS)

ALL_CFLAGS = $(CLAMHOOK_CPPFLAGS) $(INIH_CFLAGS) $(CPPFLAGS) \
	$(CLAMHOOK_CFLAGS) $(TOOLCHAIN_CFLAGS) $(BUILD_CFLAGS)
ALL_LDFLAGS = $(TOOLCHAIN_CFLAGS) $(BUILD_CFLAGS) $(CLAMHOOK_LDFLAGS) \
	$(BUILD_LDFLAGS)
LIBS = $(INIH_LIBS)

ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
SOURCE_DATE_EPOCH := $(or $(shell git log -1 --format=%ct 2>/dev/null),0)
endif
export SOURCE_DATE_EPOCH

# ---------------------------------------------------------------------------
# Files.

SRCS := $(sort $(wildcard src/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
OBJDIR := $(BUILDDIR)/$(TARGET)
OBJS := $(SRCS:src/%.c=$(OBJDIR)/%.o)
ifeq ($(SANITIZE),1)
OBJS += $(OBJDIR)/sanitizer-defaults.o
endif
BIN := $(OBJDIR)/clamhook
FLAGS_FILE := $(OBJDIR)/.flags

# The host build also lands at ./clamhook, where the tests and the demo look.
ifeq ($(TARGET),$(HOST_TARGET))
TOP_BIN := clamhook
endif

# ---------------------------------------------------------------------------
# Output: one short line per step, or the commands with V=1.

ifeq ($(V),1)
Q :=
step :=
else ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
Q := @
step :=
else
Q := @
step = @printf '  %-8s %s\n' $(1) '$(2)';
endif

sq = $(subst ','\'',$(1))

# ---------------------------------------------------------------------------
# Build.

.PHONY: all FORCE
all: $(BIN) $(TOP_BIN)

# Objects are rebuilt when the compiler or any flag changes.
FLAGS_SIG = $(CC) | $(ALL_CFLAGS) | $(ALL_LDFLAGS) | $(LIBS)
$(FLAGS_FILE): FORCE
	@mkdir -p $(@D)
	@if [ '$(call sq,$(FLAGS_SIG))' != "$$(cat $@ 2>/dev/null)" ]; then \
		printf '%s\n' '$(call sq,$(FLAGS_SIG))' >$@; fi

$(OBJDIR)/%.o: src/%.c $(FLAGS_FILE)
	$(call step,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# A static link needs inih's archive, and Buildroot and meta-oe stage inih
# shared-only: then the link stops with one line naming STATIC=0 instead
# of the linker's "cannot find -linih".  The linker's other words
# (warnings too) are passed on as they are.
LINK_ERR = $@.ld-out
$(BIN): $(OBJS) $(FLAGS_FILE)
	$(call step,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS) 2>$(LINK_ERR) || { \
		if [ '$(STATIC)' = 1 ] && grep -Eq \
		    'cannot find -linih|unable to find library -linih' \
		    $(LINK_ERR); then \
			echo 'clamhook: inih has no static library (libinih.a)' \
			    'here; build with STATIC=0 to link it dynamically'; \
		else cat $(LINK_ERR); fi >&2; rm -f $(LINK_ERR); exit 1; }; \
		cat $(LINK_ERR) >&2; rm -f $(LINK_ERR)

ifeq ($(SANITIZE),1)
$(OBJDIR)/sanitizer-defaults.c: $(FLAGS_FILE)
	$(call step,GEN,$@)
	$(Q)printf '%s\n' '/* Generated by the Makefile for SANITIZE=1. */' \
	    'const char *__asan_default_options(void);' \
	    'const char *__ubsan_default_options(void);' \
	    'const char *' '__asan_default_options(void)' \
	    '{' '	return "$(SAN_DEFAULTS_ASAN)";' '}' \
	    'const char *' '__ubsan_default_options(void)' \
	    '{' '	return "$(SAN_DEFAULTS_UBSAN)";' '}' >$@
$(OBJDIR)/sanitizer-defaults.o: $(OBJDIR)/sanitizer-defaults.c
	$(call step,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<
endif

ifneq ($(TOP_BIN),)
$(TOP_BIN): $(BIN)
	$(call step,CP,$@)
	$(Q)cp -f $(BIN) $@
endif

-include $(OBJS:.o=.d)

FORCE:

# ---------------------------------------------------------------------------
# Install.  PREFIX or prefix (lower case wins when both are given).
# install: the binary and the man pages.  install-board: what an image
# needs beside them (board/common/rootfs_overlay: the INI, the hooks'
# defaults, the init script, the hooks), so a recipe copies nothing by hand.

PREFIX ?= /usr/local
prefix ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir ?= $(exec_prefix)/bin
libexecdir ?= $(exec_prefix)/libexec
mandir ?= $(prefix)/share/man
sysconfdir ?= /etc
initdir ?= $(sysconfdir)/init.d
INSTALL ?= install
OVERLAY := board/common/rootfs_overlay
HOOKS := $(sort $(wildcard $(OVERLAY)/usr/libexec/clamhook/*))

.PHONY: install install-strip install-board
install: $(BIN)
	$(call step,INSTALL,$(DESTDIR)$(bindir)/clamhook)
	$(Q)$(INSTALL) -d '$(DESTDIR)$(bindir)' '$(DESTDIR)$(mandir)/man1' \
		'$(DESTDIR)$(mandir)/man5'
	$(Q)$(INSTALL) -m 0755 $(BIN) '$(DESTDIR)$(bindir)/clamhook'
	$(call step,INSTALL,$(DESTDIR)$(mandir))
	$(Q)$(INSTALL) -m 0644 src/clamhook.1 '$(DESTDIR)$(mandir)/man1/'
	$(Q)$(INSTALL) -m 0644 src/clamhook.ini.5 '$(DESTDIR)$(mandir)/man5/'

install-strip: install
	$(call step,STRIP,$(DESTDIR)$(bindir)/clamhook)
	$(Q)$(STRIP) '$(DESTDIR)$(bindir)/clamhook'

# The hooks are installed executable except hook-common, which they source.
# initdir= (empty) leaves the init script out, for a recipe that installs
# it its own way (Buildroot's _INSTALL_INIT_SYSV).
install-board:
	$(call step,INSTALL,$(DESTDIR)$(sysconfdir) $(DESTDIR)$(libexecdir)/clamhook)
	$(Q)$(INSTALL) -d '$(DESTDIR)$(sysconfdir)/default' \
		'$(DESTDIR)$(libexecdir)/clamhook'
	$(Q)$(INSTALL) -m 0644 $(OVERLAY)/etc/clamhook.ini \
		'$(DESTDIR)$(sysconfdir)/clamhook.ini'
	$(Q)$(INSTALL) -m 0644 $(OVERLAY)/etc/default/clamhook \
		'$(DESTDIR)$(sysconfdir)/default/clamhook'
	$(Q)$(if $(initdir),$(INSTALL) -D -m 0755 \
		$(OVERLAY)/etc/init.d/S45clamhook \
		'$(DESTDIR)$(initdir)/S45clamhook')
	$(Q)for f in $(HOOKS); do \
		case $${f##*/} in hook-common) m=0644;; *) m=0755;; esac; \
		$(INSTALL) -m $$m $$f '$(DESTDIR)$(libexecdir)/clamhook/' || exit 1; \
	done

# ---------------------------------------------------------------------------
# make dist: clamhook-$(VERSION).tar.gz, the source tree (no build output,
# no git), byte-identical for the same SOURCE_DATE_EPOCH: names sorted,
# owner 0, modes from the file's executable bit only, gzip without a name
# or time: the tarball a release publishes, the same for whoever makes it
# again from its commit (board/releases).  The OpenWrt and Yocto recipes
# (board/openwrt, board/yocto) download this tarball and carry its hash, so
# they are published beside it, never in it.

DIST_NAME := clamhook-$(VERSION)
DIST_FILES := .ci Makefile README.md LICENSE src toolchain board tests

.PHONY: dist
dist:
	$(call step,DIST,$(DIST_NAME).tar.gz)
	$(Q)tar --sort=name --format=gnu --mtime=@$(SOURCE_DATE_EPOCH) \
		--owner=0 --group=0 --numeric-owner --mode='u+rwX,go=rX' \
		--exclude=__pycache__ --exclude='*.pyc' \
		--exclude=board/openwrt --exclude=board/yocto \
		--transform='s,^,$(DIST_NAME)/,' -cf $(DIST_NAME).tar $(DIST_FILES)
	$(Q)gzip -9n <$(DIST_NAME).tar >$(DIST_NAME).tar.gz && rm -f $(DIST_NAME).tar

# ---------------------------------------------------------------------------
# make size: stripped size of every target built so far, each stripped (a
# copy) with its own strip.

.PHONY: size size-row
size:
	@printf '%-8s %10s %10s  %s\n' target unstripped stripped 'file(1)'
	@for t in $(KNOWN_TARGETS); do \
		[ -f '$(BUILDDIR)'/$$t/clamhook ] || continue; \
		$(MAKE) -s --no-print-directory TARGET=$$t size-row || exit 1; \
	done

size-row:
	@$(STRIP) -o $(BIN).stripped $(BIN)
	@printf '%-8s %10s %10s  %s\n' $(TARGET) \
		"$$(wc -c <$(BIN) | tr -d ' ')" \
		"$$(wc -c <$(BIN).stripped | tr -d ' ')" \
		"$$(file -b $(BIN).stripped | cut -d, -f1-2)"

# ---------------------------------------------------------------------------
# make rootfs: build/<target>/clamhook-rootfs-<target>.tar.gz, the board
# overlay, the target's INI fragment and the stripped binary, as Buildroot
# would lay them out.  Byte-identical for the same SOURCE_DATE_EPOCH.

ROOTFS_DIR := $(OBJDIR)/rootfs
ROOTFS_TAR := $(OBJDIR)/clamhook-rootfs-$(TARGET).tar.gz

.PHONY: rootfs
rootfs: $(ROOTFS_TAR)

$(ROOTFS_TAR): $(BIN) FORCE
	$(call step,ROOTFS,$@)
	$(Q)rm -rf $(ROOTFS_DIR) && mkdir -p $(ROOTFS_DIR)/usr/bin
	$(Q)cp -R board/common/rootfs_overlay/. $(ROOTFS_DIR)/
	$(Q)$(STRIP) -o $(ROOTFS_DIR)/usr/bin/clamhook $(BIN)
	$(Q)chmod 0755 $(ROOTFS_DIR)/usr/bin/clamhook
	$(Q)sh board/common/post_build.sh $(ROOTFS_DIR) board/$(TARGET)
	$(Q)chmod -R u=rwX,go=rX $(ROOTFS_DIR)
	$(Q)tar -C $(ROOTFS_DIR) --sort=name --format=gnu \
		--mtime=@$(SOURCE_DATE_EPOCH) --owner=0 --group=0 \
		--numeric-owner -cf $(OBJDIR)/rootfs.tar .
	$(Q)gzip -9n <$(OBJDIR)/rootfs.tar >$@ && rm -f $(OBJDIR)/rootfs.tar

# ---------------------------------------------------------------------------
# Tests.  The unit tests are host programs (glibc gcc, Check); the integration
# suite runs $(BIN), under $(QEMU) for a cross target, against a real clamd.

# The product's own optimisation: its warning-free promise is made at -Os.
UNIT_CFLAGS ?= -Os -g
PYTEST_FLAGS ?= -q -p no:cacheprovider
# Debian's python3 has python3-pytest; a python3 earlier in PATH may not.
ifeq ($(origin PYTHON),undefined)
PYTHON = $(eval PYTHON := $(shell for p in python3 /usr/bin/python3; do \
	$$p -c 'import pytest' 2>/dev/null && { echo $$p; exit; }; done; \
	echo python3))$(PYTHON)
endif

ifeq ($(SANITIZE),1)
UNIT_DIR := $(BUILDDIR)/unit-asan
UNIT_COMPILER := $(SAN_CC)
UNIT_BUILD_CFLAGS = $(SAN_CFLAGS) $(SAN_FLAGS)
UNIT_LDFLAGS := $(SAN_FLAGS)
else
UNIT_DIR := $(BUILDDIR)/unit
UNIT_COMPILER = $(HOST_CC)
UNIT_BUILD_CFLAGS = $(UNIT_CFLAGS)
UNIT_LDFLAGS :=
endif
UNIT_PKG_CFLAGS = $(eval UNIT_PKG_CFLAGS := $(shell \
	$(HOST_PKG_CONFIG) --cflags check inih))$(UNIT_PKG_CFLAGS)
UNIT_LIBS = $(eval UNIT_LIBS := $(shell \
	$(HOST_PKG_CONFIG) --libs check inih))$(UNIT_LIBS)
UNIT_ALL_CFLAGS = $(CLAMHOOK_CPPFLAGS) $(CLEAN_UP) $(UNIT_PKG_CFLAGS) \
	$(CLAMHOOK_CFLAGS) $(UNIT_BUILD_CFLAGS)
UNIT_OBJS := $(LIB_SRCS:src/%.c=$(UNIT_DIR)/%.o)
UNIT_TESTS := $(sort $(wildcard tests/unit/check_*.c))
UNIT_BINS := $(UNIT_TESTS:tests/unit/%.c=$(UNIT_DIR)/%)
UNIT_FLAGS_FILE := $(UNIT_DIR)/.flags
UNIT_FLAGS_SIG = $(UNIT_COMPILER) | $(UNIT_ALL_CFLAGS) | $(UNIT_LIBS)

$(UNIT_FLAGS_FILE): FORCE
	@mkdir -p $(@D)
	@if [ '$(call sq,$(UNIT_FLAGS_SIG))' != "$$(cat $@ 2>/dev/null)" ]; then \
		printf '%s\n' '$(call sq,$(UNIT_FLAGS_SIG))' >$@; fi

$(UNIT_DIR)/%.o: src/%.c $(UNIT_FLAGS_FILE)
	$(call step,HOSTCC,$@)
	$(Q)$(UNIT_COMPILER) $(UNIT_ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(UNIT_DIR)/check_%: tests/unit/check_%.c $(UNIT_OBJS) $(UNIT_FLAGS_FILE)
	$(call step,HOSTLD,$@)
	$(Q)$(UNIT_COMPILER) $(UNIT_ALL_CFLAGS) -MMD -MP -o $@ $< \
		$(UNIT_OBJS) $(UNIT_LDFLAGS) $(UNIT_LIBS)

.SECONDARY: $(UNIT_OBJS)
-include $(UNIT_OBJS:.o=.d) $(UNIT_BINS:=.d)

.PHONY: check check-unit check-integration check-build check-all sanitize check-valgrind \
	demo

# Every part runs even when an earlier one fails; the status is the worst.
# check-fuzz (tests/fuzz/fuzz.mk) replays the fuzz corpora.
CHECK_FUZZ := $(if $(wildcard tests/fuzz/fuzz.mk),check-fuzz)
check:
	@st=0; for t in check-unit check-integration check-build $(CHECK_FUZZ); do \
		$(MAKE) --no-print-directory $$t || st=1; \
	done; exit $$st

# One test that does not build does not stop the others.
check-unit: $(UNIT_OBJS)
	@st=0; for t in $(UNIT_BINS); do \
		$(MAKE) --no-print-directory $$t || { \
			echo "FAILED to build: $$t" >&2; st=1; continue; }; \
		printf '  %-8s %s\n' RUN $$t; \
		$(UNIT_RUN_ENV) $$t || { echo "FAILED: $$t" >&2; st=1; }; \
	done; exit $$st

check-integration: $(BIN)
	$(call step,PYTEST,tests/integration ($(TARGET)$(if $(QEMU), under $(QEMU))))
	$(Q)CLAMHOOK_BIN='$(call sq,$(abspath $(BIN)))' \
		CLAMHOOK_RUNNER='$(call sq,$(QEMU))' \
		$(PYTHON) -m pytest $(PYTEST_FLAGS) tests/integration

check-build:
	$(call step,PYTEST,tests/build)
	$(Q)$(PYTHON) -m pytest $(PYTEST_FLAGS) tests/build

sanitize:
	@st=0; for t in check-unit check-integration; do \
		$(MAKE) --no-print-directory SANITIZE=1 $$t || st=1; \
	done; exit $$st

# The whole integration suite with clamhook built against glibc (valgrind
# cannot look inside a static musl binary's malloc) and run through
# tests/integration/valgrind.sh; a memory error fails the run, a descriptor
# left open fails the session (conftest.py).  The log directory is open to
# all (1777): some cases run clamhook as nobody.  VALGRIND_TESTS picks
# files (e.g. "core pool").
VALGRIND_TESTS ?=
VALGRIND_DIR := $(BUILDDIR)/valgrind

check-valgrind:
	$(call step,HOSTCC,$(VALGRIND_DIR)/clamhook)
	$(Q)mkdir -p $(VALGRIND_DIR) && rm -rf $(VALGRIND_DIR)/logs && \
		mkdir -m 1777 $(VALGRIND_DIR)/logs
	$(Q)$(HOST_CC) -std=c11 -D_GNU_SOURCE $(CLEAN_UP) -g -O1 -Isrc $(SRCS) \
		-linih -o $(VALGRIND_DIR)/clamhook
	$(call step,PYTEST,tests/integration under valgrind)
	$(Q)CLAMHOOK_BIN='$(call sq,$(abspath $(VALGRIND_DIR)/clamhook))' \
		CLAMHOOK_RUNNER='$(call sq,$(abspath tests/integration/valgrind.sh) $(abspath $(VALGRIND_DIR)/logs))' \
		CLAMHOOK_VALGRIND_LOGS='$(call sq,$(abspath $(VALGRIND_DIR)/logs))' \
		$(PYTHON) -m pytest $(PYTEST_FLAGS) $(if $(VALGRIND_TESTS), \
		$(patsubst %,tests/integration/test_%.py,$(VALGRIND_TESTS)), \
		tests/integration)

# The real peers that are built, not installed: clamd 0.103 in a Debian 11
# chroot, Exim and OpenSMTPD in Debian 12 chroots, and Debian's test mail,
# once each, into /var/cache/clamhook (the tests that need them build them
# too when they find none).
PEER_CACHE ?= /var/cache/clamhook
.PHONY: peers
peers:
	$(call step,PEER,$(PEER_CACHE)/bullseye-clamd)
	$(Q)tests/peer/bullseye-clamd.sh $(PEER_CACHE)/bullseye-clamd
	$(call step,PEER,$(PEER_CACHE)/bookworm-exim)
	$(Q)tests/peer/bookworm-mta.sh exim $(PEER_CACHE)/bookworm-exim
	$(call step,PEER,$(PEER_CACHE)/bookworm-opensmtpd)
	$(Q)tests/peer/bookworm-mta.sh opensmtpd $(PEER_CACHE)/bookworm-opensmtpd
	$(call step,PEER,$(PEER_CACHE)/mail-corpus)
	$(Q)tests/peer/mail-corpus.sh $(PEER_CACHE)/mail-corpus

# The README's test command: everything .ci/run runs after
# toolchain/deps-debian.sh.  The peers, the host checks, the integration suite for every
# other target under qemu, the sanitizer build, the fuzz corpora, the demo,
# the rootfs tarball of every target, the sizes, the shell scripts' lint.
CROSS_TARGETS := $(filter-out $(HOST_TARGET),$(KNOWN_TARGETS))
check-all:
	@st=0; failed=; \
	for t in peers check \
	    $(foreach t,$(CROSS_TARGETS),TARGET=$(t):check-integration) \
	    sanitize check-valgrind demo lint \
	    $(foreach t,$(KNOWN_TARGETS),TARGET=$(t):rootfs) \
	    size; do \
		case $$t in *:*) v=$${t%%:*}; g=$${t#*:};; *) v=; g=$$t;; esac; \
		printf '\n======== make %s %s ========\n' "$$g" "$$v"; \
		t0=$$(date +%s); \
		$(MAKE) --no-print-directory $$v $$g || { st=1; \
		    failed="$$failed $$g$${v:+($$v)}"; }; \
		printf -- '-------- make %s %s: %ss\n' "$$g" "$$v" \
		    $$(( $$(date +%s) - t0 )); \
	done; \
	if [ $$st -ne 0 ]; then echo "check-all: FAILED:$$failed"; \
	else echo "check-all: every part passed"; fi; exit $$st

SH_SCRIPTS := board/common/post_build.sh \
	board/common/rootfs_overlay/etc/init.d/S45clamhook \
	$(wildcard board/common/rootfs_overlay/usr/libexec/clamhook/*) \
	tests/demo/demo.sh tests/peer/bullseye-clamd.sh \
	tests/peer/bookworm-mta.sh tests/peer/mail-corpus.sh \
	$(wildcard board/openwrt/clamhook/files/*.init)
# cppcheck at the levels that find bugs; "style" is left out: most of what
# it says (variableScope) is the KNF habit of declaring at the block's top.
C_SOURCES := $(wildcard src/*.c tests/unit/*.c tests/fuzz/*.c tests/bench/*.c)
CPPCHECK_FLAGS := -q --error-exitcode=1 --std=c11 -D_GNU_SOURCE -Isrc \
	--enable=warning,performance,portability
# BUILDROOT: a Buildroot tree (or a copy of its utils/), whose
# check-package then checks board/, the BR2_EXTERNAL tree, with Debian's
# python3 (python3-magic, python3-flake8).
BUILDROOT ?=
BR_PYTHON ?= /usr/bin/python3
.PHONY: lint
lint:
	$(call step,SHCHECK,$(SH_SCRIPTS))
	$(Q)shellcheck -x -s sh $(SH_SCRIPTS)
	$(Q)for f in $(SH_SCRIPTS); do busybox sh -n $$f || exit 1; done
	$(call step,CPPCHECK,src tests)
	$(Q)cppcheck $(CPPCHECK_FLAGS) $(C_SOURCES)
	$(call step,MANDOC,src/clamhook.1 src/clamhook.ini.5)
	$(Q)mandoc -Tlint -W warning src/clamhook.1 src/clamhook.ini.5
ifneq ($(BUILDROOT),)
	$(call step,CHKPKG,board)
	$(Q)cd board && $(BR_PYTHON) '$(call sq,$(abspath $(BUILDROOT)))/utils/check-package' \
		-b $$(find . -type f | LC_ALL=C sort)
else
	@echo '  NOTE     board: BUILDROOT=<a Buildroot tree> runs its check-package'
endif

demo: $(BIN)
	$(Q)sh tests/demo/demo.sh $(BIN) $(QEMU)

# ---------------------------------------------------------------------------
# Fuzzing and benchmark, kept by their owners beside their tests:
#   tests/fuzz/fuzz.mk    make fuzz, make check-fuzz (libFuzzer, clang)
#   tests/bench/bench.mk  make bench (tests/bench/run.py); the rule below
#                         stands in until that file exists.
# ---------------------------------------------------------------------------

-include tests/fuzz/fuzz.mk

ifneq ($(wildcard tests/bench/bench.mk),)
include tests/bench/bench.mk
else
.PHONY: bench
bench: $(BIN)
	$(Q)CLAMHOOK_BIN='$(call sq,$(abspath $(BIN)))' \
		CLAMHOOK_RUNNER='$(call sq,$(QEMU))' \
		$(PYTHON) tests/bench/run.py
endif

# ---------------------------------------------------------------------------

.PHONY: clean help
clean:
	$(call step,CLEAN,$(BUILDDIR) clamhook)
	$(Q)rm -rf '$(BUILDDIR)' clamhook

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' Makefile
	@echo 'Variables: TARGET ($(KNOWN_TARGETS)), CC, CROSS_COMPILE, CFLAGS,'
	@echo '  CPPFLAGS, LDFLAGS, STATIC=0, PKG_CONFIG, INIH_CFLAGS, INIH_LIBS,'
	@echo '  PREFIX/prefix, bindir, mandir, sysconfdir, initdir, libexecdir,'
	@echo '  DESTDIR, STRIP, VERSION, BUILDDIR, V=1, WERROR=1, SANITIZE=1,'
	@echo '  QEMU, SOURCE_DATE_EPOCH, PYTHON, PYTEST_FLAGS, BUILDROOT'
