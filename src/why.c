/* SPDX-License-Identifier: ISC */
#include <stdarg.h>
#include <string.h>

#include "fmt.h"
#include "why.h"

int
why_set(struct why *w, const char *fmt, ...)
{
	va_list ap;

	if (w == NULL)
		return -1;
	w->cls = WHY_SERVER;
	va_start(ap, fmt);
	fmt_v(w->text, sizeof(w->text), fmt, ap);
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
	w->cls = WHY_SERVER;
	va_start(ap, fmt);
	fmt_v(w->text, sizeof(w->text), fmt, ap);
	va_end(ap);
	len = strlen(w->text);
	fmt_s(w->text + len, sizeof(w->text) - len, ": %s", strerror(err));
	return -1;
}

int
why_as(struct why *w, enum why_class cls)
{
	if (w != NULL)
		w->cls = cls;
	return -1;
}
