################################################################################
#
# clamhook
#
################################################################################

# The package builds the tree this BR2_EXTERNAL lives in (its board/
# folder); its version is that tree's src/VERSION.
CLAMHOOK_VERSION = 0.1.0
CLAMHOOK_SITE = $(BR2_EXTERNAL_CLAMHOOK_PATH)/..
CLAMHOOK_SITE_METHOD = local
CLAMHOOK_LICENSE = ISC
CLAMHOOK_LICENSE_FILES = LICENSE
CLAMHOOK_DEPENDENCIES = inih host-pkgconf

# CC, CFLAGS, LDFLAGS, PKG_CONFIG and STRIP come from TARGET_CONFIGURE_OPTS.
# Buildroot's inih is shared-only unless BR2_STATIC_LIBS.
CLAMHOOK_MAKE_OPTS = \
	$(TARGET_CONFIGURE_OPTS) \
	STATIC=$(if $(BR2_STATIC_LIBS),1,0) \
	PREFIX=/usr

define CLAMHOOK_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(CLAMHOOK_MAKE_OPTS)
endef

# The binary, the man pages, the INI, /etc/default/clamhook and the hooks;
# the init script comes from CLAMHOOK_INSTALL_INIT_SYSV.
define CLAMHOOK_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(CLAMHOOK_MAKE_OPTS) \
		DESTDIR=$(TARGET_DIR) initdir= install install-board
endef

define CLAMHOOK_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 \
		$(@D)/board/common/rootfs_overlay/etc/init.d/S45clamhook \
		$(TARGET_DIR)/etc/init.d/S45clamhook
endef

$(eval $(generic-package))
