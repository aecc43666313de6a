# SPDX-License-Identifier: ISC
# aarch64 (64-bit Arm): gcc-aarch64-linux-gnu + musl-dev:arm64 (wrapper
# aarch64-linux-musl-gcc), inih from libinih-dev:arm64.
TOOLCHAIN_MULTIARCH = aarch64-linux-gnu
TOOLCHAIN_FILE_ARCH = ARM aarch64
ifeq ($(HOST_TARGET),aarch64)
TOOLCHAIN_CC = musl-gcc
TOOLCHAIN_CROSS_COMPILE =
TOOLCHAIN_QEMU =
else
TOOLCHAIN_CC = aarch64-linux-musl-gcc
TOOLCHAIN_CROSS_COMPILE = aarch64-linux-gnu-
TOOLCHAIN_QEMU = qemu-aarch64-static
endif
