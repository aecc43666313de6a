# SPDX-License-Identifier: ISC
#
# A stand-in for OpenWrt's rules.mk, for test_link.py: the variables and
# install commands a package Makefile uses, with OpenWrt's meanings, and
# the toolchain the test names (TARGET_CC, TARGET_CROSS, TARGET_CFLAGS,
# TARGET_LDFLAGS, ARCH on the command line).

INCLUDE_DIR := $(TOPDIR)/include
BUILD_DIR ?= $(TOPDIR)/build_dir
DL_DIR ?= $(TOPDIR)/dl

INSTALL_DIR := install -d -m0755
INSTALL_BIN := install -m0755
INSTALL_DATA := install -m0644
INSTALL_CONF := install -m0600
CP := cp -fpR

TARGET_CONFIGURE_OPTS = \
	AR="$(TARGET_CROSS)ar" \
	LD="$(TARGET_CROSS)ld" \
	NM="$(TARGET_CROSS)nm" \
	CC="$(TARGET_CC)" \
	RANLIB="$(TARGET_CROSS)ranlib" \
	STRIP="$(TARGET_CROSS)strip" \
	OBJCOPY="$(TARGET_CROSS)objcopy"
