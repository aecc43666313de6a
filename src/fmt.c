/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fmt.h"

/* Where a format goes: buf[0..cap), or o when set. */
struct sink {
	char *buf;
	size_t cap;
	size_t len;		/* all bytes produced, what did not fit too */
	struct out *o;
};

static void
emit(struct sink *s, const char *p, size_t n)
{
	if (s->o != NULL)
		out_write(s->o, p, n);
	else if (s->len < s->cap)
		memcpy(s->buf + s->len, p,
		    n < s->cap - s->len ? n : s->cap - s->len);
	s->len += n;
}

static void
pad(struct sink *s, char c, int n)
{
	for (; n > 0; n--)
		emit(s, &c, 1);
}

enum { LEN_INT, LEN_L, LEN_LL, LEN_Z };

static void
format(struct sink *s, const char *fmt, va_list ap)
{
	char digits[24], *end = digits + sizeof(digits), *q, sign;
	const char *p, *text, *hex;
	unsigned long long u;
	long long v;
	int left, zero, width, prec, len, zeros, n;
	unsigned base;

	for (;;) {
		for (p = fmt; *p != '\0' && *p != '%'; p++)
			;
		emit(s, fmt, (size_t)(p - fmt));
		if (*p == '\0')
			return;
		fmt = p + 1;
		left = zero = 0;
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				zero = 1;
			else
				break;
		}
		for (width = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		prec = -1;
		if (*fmt == '.') {
			if (*++fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			} else {
				for (prec = 0; *fmt >= '0' && *fmt <= '9';
				    fmt++)
					prec = prec * 10 + (*fmt - '0');
			}
		}
		len = LEN_INT;
		if (*fmt == 'z') {
			len = LEN_Z;
			fmt++;
		} else if (*fmt == 'l') {
			len = *++fmt == 'l' ? LEN_LL : LEN_L;
			fmt += len == LEN_LL;
		}

		sign = 0;
		zeros = 0;
		switch (*fmt) {
		case 's':
			text = va_arg(ap, const char *);
			n = (int)(prec >= 0 ? strnlen(text, (size_t)prec) :
			    strlen(text));
			break;
		case 'c':
			digits[0] = (char)va_arg(ap, int);
			text = digits;
			n = 1;
			break;
		case 'd':
			v = len == LEN_LL ? va_arg(ap, long long) :
			    len == LEN_L ? va_arg(ap, long) :
			    len == LEN_Z ? va_arg(ap, ssize_t) :
			    va_arg(ap, int);
			u = v < 0 ? 0 - (unsigned long long)v :
			    (unsigned long long)v;
			sign = v < 0 ? '-' : 0;
			goto number;
		case 'u':
		case 'x':
		case 'X':
			u = len == LEN_LL ? va_arg(ap, unsigned long long) :
			    len == LEN_L ? va_arg(ap, unsigned long) :
			    len == LEN_Z ? va_arg(ap, size_t) :
			    va_arg(ap, unsigned);
number:
			base = *fmt == 'x' || *fmt == 'X' ? 16 : 10;
			hex = *fmt == 'X' ? "0123456789ABCDEF" :
			    "0123456789abcdef";
			/* printf: a zero of precision 0 has no digits */
			for (q = end; u != 0 || (q == end && prec != 0);
			    u /= base)
				*--q = hex[u % base];
			text = q;
			n = (int)(end - q);
			if (prec > n)
				zeros = prec - n;
			else if (zero && !left && prec < 0)
				zeros = width - n - (sign != 0);
			break;
		default:
			text = "%";
			n = 1;
			break;
		}
		if (*fmt != '\0')
			fmt++;
		width -= n + zeros + (sign != 0);
		if (!left)
			pad(s, ' ', width);
		if (sign != 0)
			emit(s, &sign, 1);
		pad(s, '0', zeros);
		emit(s, text, (size_t)n);
		if (left)
			pad(s, ' ', width);
	}
}

int
fmt_v(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct sink s = { buf, cap, 0, NULL };

	format(&s, fmt, ap);
	if (cap > 0)
		buf[s.len < cap ? s.len : cap - 1] = '\0';
	return (int)s.len;
}

int
fmt_s(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_v(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

void
out_write(struct out *o, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0 && o->err == 0) {
		size_t k;

		if (o->len == sizeof(o->buf))
			(void)out_flush(o);
		k = sizeof(o->buf) - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, b, k);
		o->len += k;
		b += k;
		n -= k;
	}
}

void
out_printf(struct out *o, const char *fmt, ...)
{
	struct sink s = { NULL, 0, 0, o };
	va_list ap;

	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
}

int
out_flush(struct out *o)
{
	size_t done = 0;

	while (o->err == 0 && done < o->len) {
		ssize_t r = write(o->fd, o->buf + done, o->len - done);

		if (r > 0)
			done += (size_t)r;
		else if (r == 0 || errno != EINTR)
			o->err = r == 0 ? EIO : errno;
	}
	o->len = 0;
	return o->err != 0 ? -1 : 0;
}
