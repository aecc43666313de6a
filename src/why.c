/* SPDX-License-Identifier: ISC */
#include <stdarg.h>
#include <string.h>

#include "fmt.h"
#include "why.h"

/* set: the text, class WHY_SERVER; w may be NULL. */
static void
set(struct why *w, const char *fmt, va_list ap)
{
	if (w == NULL)
		return;
	w->cls = WHY_SERVER;
	fmt_v(w->text, sizeof(w->text), fmt, ap);
}

int
why_set(struct why *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set(w, fmt, ap);
	va_end(ap);
	return -1;
}

int
why_errno(struct why *w, int err, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	set(w, fmt, ap);
	va_end(ap);
	if (w == NULL)
		return -1;
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
