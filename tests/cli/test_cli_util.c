// SPDX-License-Identifier: MIT
/*
 * test_cli_util.c - the uswap command's parsers and printers, called
 * directly: sizes, numbers, UUIDs, device specs, byte formatting, the stat
 * format, the cluster map and JSON strings.
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "test.h"

#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "dev/zram.h"

TEST(size_plain_and_suffixes)
{
	uint64_t v = 0;

	CHECK_EQ(cli_parse_size("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(cli_parse_size("64K", &v), 0);
	CHECK_EQ(v, 64 << 10);
	CHECK_EQ(cli_parse_size("3m", &v), 0);
	CHECK_EQ(v, 3 << 20);
	CHECK_EQ(cli_parse_size("2G", &v), 0);
	CHECK_EQ(v, 2ULL << 30);
	CHECK_EQ(cli_parse_size("1T", &v), 0);
	CHECK_EQ(v, 1ULL << 40);
	CHECK_EQ(cli_parse_size("5MiB", &v), 0);
	CHECK_EQ(v, 5 << 20);
	CHECK_EQ(cli_parse_size("7kib", &v), 0);
	CHECK_EQ(v, 7 << 10);
}

/* As util-linux reads sizes: KB, MB, GB, TB are powers of 1000. */
TEST(size_decimal_suffixes_like_util_linux)
{
	uint64_t v = 0;

	CHECK_EQ(cli_parse_size("7kb", &v), 0);
	CHECK_EQ(v, 7000);
	CHECK_EQ(cli_parse_size("1MB", &v), 0);
	CHECK_EQ(v, 1000000);
	CHECK_EQ(cli_parse_size("3GB", &v), 0);
	CHECK_EQ(v, 3000000000ULL);
	CHECK_EQ(cli_parse_size("2TB", &v), 0);
	CHECK_EQ(v, 2000000000000ULL);
	CHECK_EQ(cli_parse_size("1M", &v), 0);
	CHECK_EQ(v, 1 << 20);
	CHECK_EQ(cli_parse_size("18446744073709552TB", &v), -ERANGE);
}

TEST(uuid_keywords_like_util_linux)
{
	uint8_t a[16], b[16], zero[16] = {0};

	CHECK_EQ(cli_uuid_arg("clear", a), 0);
	CHECK(!memcmp(a, zero, 16));
	CHECK_EQ(cli_uuid_arg("random", a), 0);
	CHECK_EQ(a[6] >> 4, 4);
	CHECK_EQ(a[8] >> 6, 2);
	CHECK_EQ(cli_uuid_arg("random", b), 0);
	CHECK(memcmp(a, b, 16));
	CHECK_EQ(cli_uuid_arg("time", a), 0);
	CHECK_EQ(a[6] >> 4, 1);
	CHECK_EQ(a[8] >> 6, 2);
	CHECK_EQ(cli_uuid_arg("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", a), 0);
	CHECK_EQ(a[0], 0x0a);
	CHECK_EQ(cli_uuid_arg("Random", a), -EINVAL);
	CHECK_EQ(cli_uuid_arg("", a), -EINVAL);
}

TEST(escape_control_characters)
{
	char buf[80];

	CHECK(!strcmp(cli_escape("plain label", buf, sizeof(buf)), "plain label"));
	CHECK(!strcmp(cli_escape("a\033[2Jb\n\\", buf, sizeof(buf)), "a\\x1b[2Jb\\x0a\\x5c"));
	CHECK(!strcmp(cli_escape("\x7f", buf, sizeof(buf)), "\\x7f"));
	CHECK(strlen(cli_escape("\n\n\n\n\n\n", buf, 12)) < 12);
}

TEST(size_rejects_junk_and_overflow)
{
	uint64_t v = 42;

	CHECK_EQ(cli_parse_size("", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("-1", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("M", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("12Q", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("12MM", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("1.5G", &v), -EINVAL);
	CHECK_EQ(cli_parse_size(" 1", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("99999999999999999999", &v), -ERANGE);
	CHECK_EQ(cli_parse_size("17179869184G", &v), -ERANGE);
	CHECK_EQ(v, 42);
}

TEST(ulong_range)
{
	unsigned long v = 0;

	CHECK_EQ(cli_parse_ulong("8", 1, 64, &v), 0);
	CHECK_EQ(v, 8);
	CHECK_EQ(cli_parse_ulong("0", 1, 64, &v), -ERANGE);
	CHECK_EQ(cli_parse_ulong("65", 1, 64, &v), -ERANGE);
	CHECK_EQ(cli_parse_ulong("4x", 1, 64, &v), -EINVAL);
	CHECK_EQ(cli_parse_ulong("-4", 1, 64, &v), -EINVAL);
}

TEST(uuid_round_trip)
{
	const char *s = "12345678-9abc-DEF0-1234-56789abcdef0";
	uint8_t u[16];
	char out[37];

	REQUIRE_EQ(cli_parse_uuid(s, u), 0);
	CHECK_EQ(u[0], 0x12);
	CHECK_EQ(u[6], 0xde);
	CHECK_EQ(u[15], 0xf0);
	cli_format_uuid(u, out);
	CHECK(!strcmp(out, "12345678-9abc-def0-1234-56789abcdef0"));
}

TEST(uuid_rejects_bad_syntax)
{
	uint8_t u[16];

	CHECK_EQ(cli_parse_uuid("12345678-9abc-def0-1234-56789abcdef", u), -EINVAL);
	CHECK_EQ(cli_parse_uuid("12345678-9abc-def0-1234-56789abcdef00", u), -EINVAL);
	CHECK_EQ(cli_parse_uuid("123456789-abc-def0-1234-56789abcdef0", u), -EINVAL);
	CHECK_EQ(cli_parse_uuid("1234567g-9abc-def0-1234-56789abcdef0", u), -EINVAL);
	CHECK_EQ(cli_parse_uuid("", u), -EINVAL);
}

TEST(device_and_comp_specs)
{
	struct cli_dev_spec spec = {0};

	CHECK_EQ(cli_parse_device("zram", &spec), 0);
	CHECK_EQ(spec.kind, CLI_DEV_ZRAM);
	CHECK_EQ(cli_parse_device("file:/tmp/x.swap", &spec), 0);
	CHECK_EQ(spec.kind, CLI_DEV_FILE);
	CHECK(!strcmp(spec.path, "/tmp/x.swap"));
	CHECK_EQ(cli_parse_device("file:", &spec), -EINVAL);
	CHECK_EQ(cli_parse_device("disk", &spec), -EINVAL);
	CHECK_EQ(cli_parse_comp("zstd", &spec), 0);
	CHECK_EQ(spec.algo, ZRAM_ZSTD);
	CHECK_EQ(cli_parse_comp("lz4", &spec), 0);
	CHECK_EQ(spec.algo, ZRAM_LZ4);
	CHECK_EQ(cli_parse_comp("gzip", &spec), -EINVAL);
}

TEST(bytes_for_people)
{
	char b[32];

	CHECK(!strcmp(cli_format_bytes(512, b, sizeof(b)), "512 B"));
	CHECK(!strcmp(cli_format_bytes(4096, b, sizeof(b)), "4 KiB"));
	CHECK(!strcmp(cli_format_bytes(3ULL << 29, b, sizeof(b)), "1.5 GiB"));
	CHECK(!strcmp(cli_format_bytes((64 << 20) - 4096, b, sizeof(b)), "63.996 MiB"));
}

/* The printers' output, captured. */
static char *capture(void (*print)(FILE *, void *), void *arg)
{
	static char buf[1 << 16];
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	memset(buf, 0, sizeof(buf));
	print(f, arg);
	fclose(f);
	return buf;
}

static void print_stat(FILE *f, void *sw)
{
	cli_print_stat(f, sw);
}

static void print_clusters(FILE *f, void *si)
{
	cli_print_clusters(f, si);
}

TEST(stat_has_every_section)
{
	struct uswap *sw = t_engine();
	struct cli_dev_spec spec = {.kind = CLI_DEV_ZRAM, .zram_bytes = 8 << 20};
	char err[256], *out;
	int type = cli_swapon(sw, &spec, err, sizeof(err));

	REQUIRE(type >= 0);
	out = capture(print_stat, sw);
	CHECK(strstr(out, "== swaps ==\nFilename"));
	CHECK(strstr(out, "\nzram0 "));
	CHECK(strstr(out, " 8188 ")); /* 2047 usable pages in KiB */
	CHECK(strstr(out, "\npswpin 0\n"));
	CHECK(strstr(out, "\npswpout 0\n"));
	CHECK(strstr(out, "== zram0 mm_stat ==\norig_data_size compr_data_size"));
}

TEST(stat_demo_moves_pages)
{
	struct uswap *sw = t_engine();
	struct cli_dev_spec spec = {.kind = CLI_DEV_ZRAM, .zram_bytes = 64 << 20};
	char err[256], *buf;
	size_t len;
	FILE *f;

	REQUIRE(cli_swapon(sw, &spec, err, sizeof(err)) >= 0);
	f = open_memstream(&buf, &len);
	REQUIRE_EQ(cli_stat_demo(sw, f), 0);
	fclose(f);
	CHECK(!strstr(buf, "\npswpout 0\n"));
	CHECK(!strstr(buf, "\nswpout_zero 0\n"));
	CHECK(!strstr(buf, "\npswpin 0\n"));
	CHECK(!strstr(buf, "\npgfault 0\n"));
	CHECK(strstr(buf, "== zram0 mm_stat =="));
	CHECK(strstr(buf, "compression ratio"));
	free(buf);
	CHECK_EQ(vm_event_read(sw_events(sw), swpin_fail), 0);
	/* Everything is released again. */
	CHECK_EQ(swap_inuse_pages(sw->swap_info[0]), 0);
}

TEST(cluster_map_legend_and_totals)
{
	struct uswap *sw = t_engine();
	struct cli_dev_spec spec = {.kind = CLI_DEV_ZRAM, .zram_bytes = 4 << 20};
	char err[256], *out;
	int type = cli_swapon(sw, &spec, err, sizeof(err));

	REQUIRE(type >= 0);
	out = capture(print_clusters, sw->swap_info[type]);
	/* 1024 slots: two clusters; the first holds the header slot. */
	CHECK(strstr(out, "2 clusters of 512 slots"));
	CHECK(strstr(out, "       0  n.\n          0\n"));
	CHECK(strstr(out, "legend: . free  n nonfull  f frag  # full  d discard  ? isolated"));
	CHECK(strstr(out, "totals: free 1 nonfull 1 frag 0 full 0 discard 0 isolated 0"));
	CHECK(strstr(out, "slots in use 0 of 1023"));
}

/* JSON is UTF-8: escapes, well-formed sequences as they are, ill-formed bytes as U+FFFD. */
TEST(json_string_escapes_and_replaces_bad_utf8)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	REQUIRE(f);
	cli_json_string(f, "a\"b\\c\n\x01 \xc3\xa9 \xe2\x82\xac \xff \xc0\xaf \xed\xa0\x80!");
	fclose(f);
	CHECK_EQ(strcmp(buf, "\"a\\\"b\\\\c\\u000a\\u0001 \xc3\xa9 \xe2\x82\xac \\ufffd "
			     "\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd!\""),
		 0);
	free(buf);
}
