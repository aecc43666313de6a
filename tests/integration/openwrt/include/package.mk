# SPDX-License-Identifier: ISC
#
# A stand-in for OpenWrt's package.mk, for test_link.py: what it does for
# a plain make package, in OpenWrt's order and with its variables.
#   make -C PACKAGE TOPDIR=<here> IPKG=<package root> TARGET_CC=... all
# checks $(DL_DIR)/$(PKG_SOURCE) against PKG_HASH, unpacks it into
# PKG_BUILD_DIR, runs Build/Compile, Build/Install (with PKG_INSTALL) and
# Package/<name>/install into IPKG, and writes IPKG/CONTROL/conffiles.

PKG_BUILD_DIR ?= $(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
PKG_INSTALL_DIR ?= $(PKG_BUILD_DIR)/ipkg-install
MAKE_PATH ?= .

MAKE_VARS = \
	CFLAGS="$(TARGET_CFLAGS) $(EXTRA_CFLAGS)" \
	LDFLAGS="$(TARGET_LDFLAGS) $(EXTRA_LDFLAGS)"

MAKE_FLAGS = \
	$(TARGET_CONFIGURE_OPTS) \
	CROSS="$(TARGET_CROSS)" \
	ARCH="$(ARCH)"

MAKE_INSTALL_FLAGS = \
	$(MAKE_FLAGS) \
	DESTDIR="$(PKG_INSTALL_DIR)"

define Build/Compile/Default
	$(MAKE_VARS) $(MAKE) -C $(PKG_BUILD_DIR)/$(MAKE_PATH) $(MAKE_FLAGS) $(1)
endef

define Build/Install/Default
	$(MAKE_VARS) $(MAKE) -C $(PKG_BUILD_DIR)/$(MAKE_PATH) \
		$(MAKE_INSTALL_FLAGS) $(if $(1),$(1),install)
endef

Build/Compile ?= $(call Build/Compile/Default,)
Build/Install ?= $(call Build/Install/Default,)

define Build/Prepare
	echo "$(PKG_HASH)  $(DL_DIR)/$(PKG_SOURCE)" | sha256sum -c --quiet
	mkdir -p $(PKG_BUILD_DIR)
	tar -xzf $(DL_DIR)/$(PKG_SOURCE) -C $(PKG_BUILD_DIR) \
		--strip-components=1
endef

define BuildPackage
.PHONY: all
all:
	$$(Build/Prepare)
	$$(Build/Compile)
	$$(if $$(PKG_INSTALL),$$(Build/Install))
	$$(call Package/$(1)/install,$$(IPKG))
	mkdir -p $$(IPKG)/CONTROL
	printf '%s\n' $$(strip $$(Package/$(1)/conffiles)) \
		>$$(IPKG)/CONTROL/conffiles
endef
