# SPDX-License-Identifier: ISC
# x86_64: static musl with Debian's musl-tools (musl-gcc) on an x86_64 host,
# or with musl-dev:amd64's x86_64-linux-musl-gcc and qemu elsewhere.
TOOLCHAIN_MULTIARCH = x86_64-linux-gnu
TOOLCHAIN_FILE_ARCH = x86-64
ifeq ($(HOST_TARGET),x86_64)
TOOLCHAIN_CC = musl-gcc
TOOLCHAIN_CROSS_COMPILE =
TOOLCHAIN_QEMU =
else
TOOLCHAIN_CC = x86_64-linux-musl-gcc
TOOLCHAIN_CROSS_COMPILE = x86_64-linux-gnu-
TOOLCHAIN_QEMU = qemu-x86_64-static
endif
