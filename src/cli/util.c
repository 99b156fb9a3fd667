// SPDX-License-Identifier: MIT
/*
 * util.c - messages, argument parsing, small text files and JSON strings
 * for the uswap command.
 *
 * Owns: cli_subcommand (set once by main before a subcommand runs).
 * Locking: none; messages may interleave if printed from many threads.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

const char *cli_subcommand;

static void vmessage(const char *fmt, va_list ap)
{
	if (cli_subcommand)
		fprintf(stderr, "uswap %s: ", cli_subcommand);
	else
		fputs("uswap: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'uswap %s%s--help' for more information.\n",
		cli_subcommand ? cli_subcommand : "", cli_subcommand ? " " : "");
	return CLI_EXIT_USAGE;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	if (cli_subcommand)
		fprintf(stderr, "uswap %s: warning: ", cli_subcommand);
	else
		fputs("uswap: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Whether getopt's last error was about a short option: in a group
 * ("-xh") getopt reports a bad letter before it moves past the word, so
 * argv[optind - 1] is not the word at fault; a long option ("--frob",
 * "--help=x") has been moved past and is argv[optind - 1].
 */
static bool short_option_error(int argc, char **argv)
{
	const char *prev = optind > 0 && optind - 1 < argc ? argv[optind - 1] : "";
	const char *cur = optind < argc ? argv[optind] : "";

	if (optopt <= 0 || optopt > 127)
		return false; /* an unknown long option (optopt 0) or one with a code */
	if (cur[0] == '-' && cur[1] != '-' && strchr(cur + 1, optopt))
		return true; /* error mid-group: optind still at the group */
	return !(prev[0] == '-' && prev[1] == '-');
}

int cli_bad_option(int c, char **argv)
{
	int argc = 0;
	const char *arg;
	size_t len;

	while (argv[argc])
		argc++;
	arg = optind > 0 && optind - 1 < argc ? argv[optind - 1] : "";
	len = strcspn(arg, "=");
	if (short_option_error(argc, argv)) {
		if (c == ':')
			return cli_usage_error("option '-%c' needs an argument", optopt);
		return cli_usage_error("unknown option '-%c'", optopt);
	}
	if (c == ':')
		return cli_usage_error("option '%s' needs an argument", arg);
	if (optopt && arg[len] == '=')
		return cli_usage_error("option '%.*s' takes no argument", (int)len, arg);
	return cli_usage_error("unknown option '%s'", arg);
}

int cli_parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *val)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < lo || v > hi)
		return -ERANGE;
	*val = v;
	return 0;
}

/* The power of a size suffix letter (K 1, M 2, G 3, T 4), or -1. */
static int suffix_power(char c)
{
	const char *p = strchr("kmgt", tolower((unsigned char)c));

	return c && p ? (int)(p - "kmgt") + 1 : -1;
}

int cli_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	uint64_t unit = 1, base = 1024;
	const char *p;
	char *end;
	int power = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	p = end;
	if (*p) {
		power = suffix_power(*p);
		if (power < 0)
			return -EINVAL;
		p++;
		/* As util-linux reads them: KiB and K are 1024, KB is 1000. */
		if (tolower((unsigned char)*p) == 'i' && tolower((unsigned char)p[1]) == 'b')
			p += 2;
		else if (tolower((unsigned char)*p) == 'b')
			p++, base = 1000;
		if (*p)
			return -EINVAL;
	}
	while (power--)
		unit *= base;
	if (v > UINT64_MAX / unit)
		return -ERANGE;
	*bytes = (uint64_t)v * unit;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int cli_parse_uuid(const char *s, uint8_t uuid[16])
{
	uint8_t out[16];
	unsigned n = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (unsigned i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(uuid, out, sizeof(out));
	return 0;
}

/* @n random bytes. Return: 0 or -errno. */
static int fill_random(uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0 && errno != EINTR)
			return -errno;
		got += r > 0 ? (size_t)r : 0;
	}
	return 0;
}

int cli_uuid_arg(const char *s, uint8_t uuid[16])
{
	struct timespec ts;
	uint64_t t;
	int ret;

	if (!strcmp(s, "clear")) {
		memset(uuid, 0, 16);
		return 0;
	}
	if (strcmp(s, "random") && strcmp(s, "time"))
		return cli_parse_uuid(s, uuid);
	ret = fill_random(uuid, 16);
	if (ret)
		return ret;
	if (!strcmp(s, "random")) {
		uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
		uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
		return 0;
	}
	/*
	 * Version 1: 100 ns intervals since 1582-10-15 (time_low, time_mid,
	 * time_hi), then a random clock sequence and a random node with the
	 * multicast bit set, as RFC 4122 asks of a node that is not a MAC.
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	t = (uint64_t)ts.tv_sec * 10000000 + (uint64_t)ts.tv_nsec / 100 + 0x01B21DD213814000ULL;
	uuid[0] = (uint8_t)(t >> 24);
	uuid[1] = (uint8_t)(t >> 16);
	uuid[2] = (uint8_t)(t >> 8);
	uuid[3] = (uint8_t)t;
	uuid[4] = (uint8_t)(t >> 40);
	uuid[5] = (uint8_t)(t >> 32);
	uuid[6] = (uint8_t)(((t >> 56) & 0x0f) | 0x10);
	uuid[7] = (uint8_t)(t >> 48);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
	uuid[10] |= 0x01;
	return 0;
}

char *cli_escape(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; *s && n + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return buf;
}

void cli_format_uuid(const uint8_t uuid[16], char out[37])
{
	char *p = out;

	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", uuid[i]);
	}
	*p = '\0';
}

char *cli_format_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	unsigned u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v == (double)(uint64_t)v) {
		snprintf(buf, len, "%.0f %s", v, unit[u]);
	} else {
		/* Three decimals, trailing zeros trimmed: "63.996 MiB", "1.5 GiB". */
		char num[32];
		size_t n = (size_t)snprintf(num, sizeof(num), "%.3f", v);

		while (n > 1 && num[n - 1] == '0')
			num[--n] = '\0';
		if (num[n - 1] == '.')
			num[--n] = '\0';
		snprintf(buf, len, "%s %s", num, unit[u]);
	}
	return buf;
}

ssize_t cli_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -errno;
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return (ssize_t)n;
}

/*
 * The length of the well-formed UTF-8 sequence at @s (1 to 4), or 0 if the
 * byte there does not start one (overlong forms and surrogates included).
 */
static unsigned utf8_len(const unsigned char *s)
{
	unsigned len, cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (unsigned i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void cli_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned len;

	fputc('"', out);
	while (*p) {
		len = utf8_len(p);
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else if (!len)
			fputs("\\ufffd", out);
		else
			fwrite(p, 1, len, out);
		p += len ? len : 1;
	}
	fputc('"', out);
}
