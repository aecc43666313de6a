# SPDX-License-Identifier: ISC
# armv7 (32-bit Arm, hard float, EABI5): gcc-arm-linux-gnueabihf +
# musl-dev:armhf (wrapper arm-linux-musleabihf-gcc; Debian's armhf default
# is -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb), inih from
# libinih-dev:armhf.
TOOLCHAIN_MULTIARCH = arm-linux-gnueabihf
TOOLCHAIN_FILE_ARCH = ARM, EABI5
ifeq ($(HOST_TARGET),armv7)
TOOLCHAIN_CC = musl-gcc
TOOLCHAIN_CROSS_COMPILE =
TOOLCHAIN_QEMU =
else
TOOLCHAIN_CC = arm-linux-musleabihf-gcc
TOOLCHAIN_CROSS_COMPILE = arm-linux-gnueabihf-
TOOLCHAIN_QEMU = qemu-arm-static
endif
