/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_VERSION_H
#define CLAMHOOK_VERSION_H

/* The release, shown by --version and in the milter header (SPEC §4.2). */
#ifndef CLAMHOOK_VERSION
#define CLAMHOOK_VERSION "0.1.0"
#endif

#endif
