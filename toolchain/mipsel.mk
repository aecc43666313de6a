# SPDX-License-Identifier: ISC
# mipsel (32-bit MIPS, little endian, o32, mips32r2): gcc-mipsel-linux-gnu +
# musl-dev:mipsel (wrapper mipsel-linux-musl-gcc), inih from
# libinih-dev:mipsel.
TOOLCHAIN_MULTIARCH = mipsel-linux-gnu
TOOLCHAIN_FILE_ARCH = MIPS
ifeq ($(HOST_TARGET),mipsel)
TOOLCHAIN_CC = musl-gcc
TOOLCHAIN_CROSS_COMPILE =
TOOLCHAIN_QEMU =
else
TOOLCHAIN_CC = mipsel-linux-musl-gcc
TOOLCHAIN_CROSS_COMPILE = mipsel-linux-gnu-
TOOLCHAIN_QEMU = qemu-mipsel-static
endif
