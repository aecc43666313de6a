/* SPDX-License-Identifier: ISC */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "why.h"

int
why_set(struct why *w, const char *fmt, ...)
{
	va_list ap;

	if (w == NULL)
		return -1;
	va_start(ap, fmt);
	if (vsnprintf(w->text, sizeof(w->text), fmt, ap) < 0)
		w->text[0] = '\0';
	va_end(ap);
	return -1;
}

int
why_errno(struct why *w, int err, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (w == NULL)
		return -1;
	va_start(ap, fmt);
	if (vsnprintf(w->text, sizeof(w->text), fmt, ap) < 0)
		w->text[0] = '\0';
	va_end(ap);
	len = strlen(w->text);
	snprintf(w->text + len, sizeof(w->text) - len, ": %s", strerror(err));
	return -1;
}
