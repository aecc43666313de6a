# SPDX-License-Identifier: ISC
SUMMARY = "Scan a message through ClamAV's clamd for an MTA hook"
DESCRIPTION = "clamhook streams one message to a clamd (TCP, Unix socket \
or through a SOCKS proxy), writes its verdict for the mail agent and tells \
the MTA's hook by its exit status to deliver, quarantine or defer. The \
hooks for Postfix, Exim and OpenSMTPD are in ${libexecdir}/clamhook."
SECTION = "mail"
LICENSE = "ISC"
LIC_FILES_CHKSUM = "file://LICENSE;md5=a51bac84f8f4216eb75a760e212e6c14"

# The release tarball: put it in DL_DIR, or set CLAMHOOK_RELEASES (in
# local.conf) to where it is published.
CLAMHOOK_RELEASES ??= "https://releases.example.invalid/clamhook"
SRC_URI = "${CLAMHOOK_RELEASES}/clamhook-${PV}.tar.gz"
SRC_URI[sha256sum] = "505fbc8920925ecf77170c8ba15087b18eab5813be874028a71df0339143c195"

DEPENDS = "libinih"

inherit pkgconfig update-rc.d

# CC, CFLAGS, LDFLAGS and pkg-config come from the environment; meta-oe's
# inih is shared-only, so the link is dynamic.  do_compile is the default
# (oe_runmake); the binary is installed unstripped, for the -dbg package.
EXTRA_OEMAKE = "STATIC=0 PREFIX=${prefix}"

do_install() {
	oe_runmake install install-board DESTDIR=${D} bindir=${bindir} \
		mandir=${mandir} sysconfdir=${sysconfdir} \
		libexecdir=${libexecdir} initdir=${INIT_D_DIR}
	mv ${D}${INIT_D_DIR}/S45clamhook ${D}${INIT_D_DIR}/clamhook
}

# The board's S45clamhook, started before the MTA (postfix: 58).
INITSCRIPT_NAME = "clamhook"
INITSCRIPT_PARAMS = "defaults 45"

CONFFILES:${PN} = "${sysconfdir}/clamhook.ini ${sysconfdir}/default/clamhook"
RDEPENDS:${PN} = "${VIRTUAL-RUNTIME_base-utils}"
