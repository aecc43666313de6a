/* SPDX-License-Identifier: ISC */
#ifndef CLAMHOOK_EXIT_H
#define CLAMHOOK_EXIT_H

/*
 * The exit statuses of SPEC §3, the only ones clamhook gives.  An MTA
 * bounces mail on most other non-zero statuses, so every failure while
 * scanning, a bad configuration included, is EX_TEMPFAIL.
 */
#define EX_CLEAN 0	/* clean, or accepted by the administrator's policy */
#define EX_INFECTED 1	/* infected, or on_oversize = reject */
#define EX_TEMPFAIL 75	/* anything else while scanning */
#define EX_CONFIG 78	/* --check-config only: the configuration is invalid */

#endif
