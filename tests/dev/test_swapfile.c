// SPDX-License-Identifier: MIT
/*
 * test_swapfile.c - SWAPSPACE2 headers and the swap file backend: every
 * header check with its own error, both byte orders, formatting like
 * mkswap, round trips, swapon's refusals, discard, fault injection, and
 * interoperability with the system's mkswap / swapon / swaplabel.
 *
 * Owns: scratch files under /var/tmp, removed by each test (and any system
 * swap it turned on is turned off at exit). Locking: single-threaded.
 */
#include <limits.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "dev_test.h"
#include "dev/file.h"

#define HDR_VERSION	1024
#define HDR_LAST_PAGE	1028
#define HDR_NR_BADPAGES 1032
#define HDR_UUID	1036
#define HDR_LABEL	1052
#define HDR_BADPAGES	1536

static const uint8_t test_uuid[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88,
				      0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};

static uint32_t get_u32(const unsigned char *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static void put_u32(unsigned char *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

/* A valid header page: @last_page, label "lbl", test_uuid, @nr bad pages 1..nr. */
static void make_header(unsigned char *page, uint32_t last_page, unsigned nr_bad)
{
	struct swap_header_info hdr = {.last_page = last_page, .nr_badpages = nr_bad};

	for (unsigned i = 0; i < nr_bad; i++)
		hdr.badpages[i] = i + 1;
	memcpy(hdr.uuid, test_uuid, 16);
	strcpy(hdr.label, "lbl");
	if (swap_header_build(page, &hdr))
		test_fail(__FILE__, __LINE__, "swap_header_build");
}

/* Rewrite a native header in the other byte order, by hand. */
static void byteswap_header(unsigned char *page)
{
	uint32_t nr = get_u32(page, HDR_NR_BADPAGES);

	put_u32(page, HDR_VERSION, __builtin_bswap32(get_u32(page, HDR_VERSION)));
	put_u32(page, HDR_LAST_PAGE, __builtin_bswap32(get_u32(page, HDR_LAST_PAGE)));
	put_u32(page, HDR_NR_BADPAGES, __builtin_bswap32(nr));
	for (uint32_t i = 0; i < nr && i < SWAP_DEV_MAX_BAD; i++)
		put_u32(page, HDR_BADPAGES + 4 * i,
			__builtin_bswap32(get_u32(page, HDR_BADPAGES + 4 * i)));
}

static int parse(const unsigned char *page, uint64_t pages, struct swap_header_info *hdr)
{
	return swap_header_parse(page, pages * PAGE_SIZE, hdr);
}

/* ---- the header parser ---- */

TEST(header_valid_native)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr;

	make_header(page, 99, 3);
	REQUIRE_EQ(parse(page, 100, &hdr), 0);
	CHECK_EQ(hdr.version, 1);
	CHECK_EQ(hdr.last_page, 99);
	CHECK_EQ(hdr.nr_badpages, 3);
	CHECK_EQ(hdr.badpages[0], 1);
	CHECK_EQ(hdr.badpages[2], 3);
	CHECK(!memcmp(hdr.uuid, test_uuid, 16));
	CHECK(!strcmp(hdr.label, "lbl"));
	CHECK(!hdr.foreign_endian);
	/* A device larger than the header says is fine (only last_page is used). */
	CHECK_EQ(parse(page, 1000, &hdr), 0);
	CHECK_EQ(swap_header_parse(page, SWAP_SIZE_UNKNOWN, &hdr), 0);
}

TEST(header_valid_foreign_endian)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr;

	make_header(page, 0x01020304 % 5000 + 10, 5);
	byteswap_header(page);
	CHECK(get_u32(page, HDR_VERSION) == 0x01000000);
	REQUIRE_EQ(parse(page, 6000, &hdr), 0);
	CHECK(hdr.foreign_endian);
	CHECK_EQ(hdr.version, 1);
	CHECK_EQ(hdr.last_page, 0x01020304 % 5000 + 10);
	CHECK_EQ(hdr.nr_badpages, 5);
	for (unsigned i = 0; i < 5; i++)
		CHECK_EQ(hdr.badpages[i], i + 1);
	CHECK(!strcmp(hdr.label, "lbl"));
	CHECK(!memcmp(hdr.uuid, test_uuid, 16));
}

TEST(header_label_of_sixteen_bytes_is_terminated)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr;

	make_header(page, 20, 0);
	memcpy(page + HDR_LABEL, "0123456789abcdef", 16);
	REQUIRE_EQ(parse(page, 21, &hdr), 0);
	CHECK(!strcmp(hdr.label, "0123456789abcdef"));
}

TEST(header_no_signature)
{
	unsigned char page[PAGE_SIZE] = {0};
	struct swap_header_info hdr;

	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_NO_SIGNATURE);
	CHECK_EQ(SWAP_HDR_NO_SIGNATURE, -EINVAL);
	make_header(page, 20, 0);
	page[PAGE_SIZE - 1] = '3'; /* "SWAPSPACE3" */
	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_NO_SIGNATURE);
	/* The signature belongs at the end of the page, nowhere else. */
	make_header(page, 20, 0);
	memset(page + PAGE_SIZE - 10, 0, 10);
	memcpy(page + 4096 - 20, "SWAPSPACE2", 10);
	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_NO_SIGNATURE);
}

TEST(header_old_v0_reported)
{
	unsigned char page[PAGE_SIZE] = {0};
	struct swap_header_info hdr;

	memcpy(page + PAGE_SIZE - 10, "SWAP-SPACE", 10);
	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_OLD_V0);
	CHECK(strstr(swap_header_strerror(SWAP_HDR_OLD_V0), "version 0"));
}

TEST(header_bad_version)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr;
	const uint32_t versions[] = {0, 2, 0x02000000, 0xffffffff, 0x00010000};

	for (unsigned i = 0; i < ARRAY_SIZE(versions); i++) {
		make_header(page, 20, 0);
		put_u32(page, HDR_VERSION, versions[i]);
		CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_BAD_VERSION);
	}
}

TEST(header_empty_last_page_zero)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr;

	make_header(page, 20, 0);
	put_u32(page, HDR_LAST_PAGE, 0);
	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_EMPTY);
	byteswap_header(page);
	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_EMPTY);
}

TEST(header_too_many_badpages)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr;

	make_header(page, 2000, SWAP_DEV_MAX_BAD);
	CHECK_EQ(parse(page, 2001, &hdr), 0);
	CHECK_EQ(hdr.nr_badpages, 637);
	put_u32(page, HDR_NR_BADPAGES, 638);
	CHECK_EQ(parse(page, 2001, &hdr), SWAP_HDR_TOO_MANY_BAD);
	put_u32(page, HDR_NR_BADPAGES, 0xffffffff);
	CHECK_EQ(parse(page, 2001, &hdr), SWAP_HDR_TOO_MANY_BAD);
	make_header(page, 2000, 10);
	byteswap_header(page);
	put_u32(page, HDR_NR_BADPAGES, __builtin_bswap32(638));
	CHECK_EQ(parse(page, 2001, &hdr), SWAP_HDR_TOO_MANY_BAD);
}

TEST(header_file_shorter_than_last_page)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr;

	make_header(page, 99, 0);
	CHECK_EQ(parse(page, 100, &hdr), 0);
	CHECK_EQ(parse(page, 99, &hdr), SWAP_HDR_TOO_SHORT);
	CHECK_EQ(swap_header_parse(page, 100 * PAGE_SIZE - 1, &hdr), SWAP_HDR_TOO_SHORT);
	CHECK_EQ(parse(page, 0, &hdr), SWAP_HDR_TOO_SHORT);
}

TEST(header_bad_page_out_of_range)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr;

	make_header(page, 99, 4);
	put_u32(page, HDR_BADPAGES + 8, 0);
	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_BAD_PAGE_RANGE);
	put_u32(page, HDR_BADPAGES + 8, 100);
	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_BAD_PAGE_RANGE);
	put_u32(page, HDR_BADPAGES + 8, 99);
	CHECK_EQ(parse(page, 100, &hdr), 0);
	byteswap_header(page);
	CHECK_EQ(parse(page, 100, &hdr), 0);
	put_u32(page, HDR_BADPAGES + 12, __builtin_bswap32(100));
	CHECK_EQ(parse(page, 100, &hdr), SWAP_HDR_BAD_PAGE_RANGE);
}

TEST(header_errors_are_distinct)
{
	const int codes[] = {SWAP_HDR_NO_SIGNATURE,  SWAP_HDR_OLD_V0,	    SWAP_HDR_BAD_VERSION,
			     SWAP_HDR_EMPTY,	     SWAP_HDR_TOO_MANY_BAD, SWAP_HDR_TOO_SHORT,
			     SWAP_HDR_BAD_PAGE_RANGE};

	for (unsigned i = 0; i < ARRAY_SIZE(codes); i++) {
		CHECK(codes[i] < 0);
		CHECK(strcmp(swap_header_strerror(codes[i]), swap_header_strerror(-12345)));
		for (unsigned j = 0; j < i; j++) {
			CHECK(codes[i] != codes[j]);
			CHECK(strcmp(swap_header_strerror(codes[i]),
				     swap_header_strerror(codes[j])));
		}
	}
}

TEST(header_build_rejects_bad_input)
{
	unsigned char page[PAGE_SIZE];
	struct swap_header_info hdr = {.last_page = 0};

	CHECK_EQ(swap_header_build(page, &hdr), -EINVAL);
	hdr.last_page = 10;
	hdr.nr_badpages = 1;
	hdr.badpages[0] = 11;
	CHECK_EQ(swap_header_build(page, &hdr), -EINVAL);
	hdr.nr_badpages = 638;
	CHECK_EQ(swap_header_build(page, &hdr), -EINVAL);
}

/* ---- formatting ---- */

static unsigned char *read_file_page(const char *path, unsigned char *page)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, page, PAGE_SIZE, 0);

	if (fd >= 0)
		close(fd);
	return n == PAGE_SIZE ? page : NULL;
}

TEST(format_writes_mkswap_layout)
{
	char path[128];
	unsigned char page[PAGE_SIZE], zeros[1024] = {0};
	struct stat st;

	t_tmpname(path, sizeof(path), "fmt");
	REQUIRE_EQ(swapfile_format(path, 1 << 20, "mylabel", test_uuid, NULL, 0), 0);
	REQUIRE_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, 1 << 20);
	CHECK(t_file_fully_allocated(path));
	REQUIRE(read_file_page(path, page));
	CHECK(!memcmp(page, zeros, sizeof(zeros)));
	CHECK_EQ(get_u32(page, HDR_VERSION), 1);
	CHECK_EQ(get_u32(page, HDR_LAST_PAGE), (1 << 20) / PAGE_SIZE - 1);
	CHECK_EQ(get_u32(page, HDR_NR_BADPAGES), 0);
	CHECK(!memcmp(page + HDR_UUID, test_uuid, 16));
	CHECK(!memcmp(page + HDR_LABEL, "mylabel\0\0\0\0\0\0\0\0\0", 16));
	CHECK(!memcmp(page + PAGE_SIZE - 10, "SWAPSPACE2", 10));
	unlink(path);
}

TEST(format_random_uuid_is_version_4)
{
	char path[128];
	unsigned char a[PAGE_SIZE], b[PAGE_SIZE];

	t_tmpname(path, sizeof(path), "uuid");
	REQUIRE_EQ(swapfile_format(path, 64 << 10, NULL, NULL, NULL, 0), 0);
	REQUIRE(read_file_page(path, a));
	REQUIRE_EQ(swapfile_format(path, 64 << 10, NULL, NULL, NULL, 0), 0);
	REQUIRE(read_file_page(path, b));
	CHECK(memcmp(a + HDR_UUID, b + HDR_UUID, 16));
	CHECK_EQ(a[HDR_UUID + 6] >> 4, 4);
	CHECK_EQ(a[HDR_UUID + 8] & 0xc0, 0x80);
	unlink(path);
}

TEST(format_rejects_bad_arguments)
{
	char path[128];
	const uint32_t bad_zero[] = {0}, bad_far[] = {16};
	struct stat st;

	t_tmpname(path, sizeof(path), "badfmt");
	CHECK_EQ(swapfile_format(path, 9 * PAGE_SIZE, NULL, NULL, NULL, 0), -EINVAL);
	CHECK_EQ(swapfile_format(path, 1 << 20, "seventeen chars!!", NULL, NULL, 0), -ENAMETOOLONG);
	CHECK_EQ(swapfile_format(path, 16 * PAGE_SIZE, NULL, NULL, bad_zero, 1), -EINVAL);
	CHECK_EQ(swapfile_format(path, 16 * PAGE_SIZE, NULL, NULL, bad_far, 1), -EINVAL);
	CHECK_EQ(swapfile_format("/nonexistent-dir/x", 1 << 20, NULL, NULL, NULL, 0), -ENOENT);
	CHECK(stat(path, &st) < 0);
}

TEST(format_rounds_size_down_to_pages)
{
	char path[128];
	unsigned char page[PAGE_SIZE];
	struct stat st;

	t_tmpname(path, sizeof(path), "round");
	REQUIRE_EQ(swapfile_format(path, 20 * PAGE_SIZE + 100, NULL, NULL, NULL, 0), 0);
	REQUIRE_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_size, 20 * PAGE_SIZE);
	REQUIRE(read_file_page(path, page));
	CHECK_EQ(get_u32(page, HDR_LAST_PAGE), 19);
	unlink(path);
}

/* ---- the backend ---- */

/* A formatted file opened as a backend; NULL (and a failure) if not. */
static struct swap_dev *t_swapfile(struct arena *a, char *path, size_t len, const char *what,
				   unsigned long pages)
{
	struct swap_dev *dev = NULL;
	char err[256];
	int ret;

	t_tmpname(path, len, what);
	ret = swapfile_format(path, pages * PAGE_SIZE, "t", test_uuid, NULL, 0);
	if (ret == 0)
		ret = swapfile_open(&dev, a, path, err, sizeof(err));
	if (ret) {
		test_fail(__FILE__, __LINE__, "swapfile %s: %d: %s", path, ret, err);
		unlink(path);
		return NULL;
	}
	return dev;
}

static void *pages(size_t nr)
{
	void *p = aligned_alloc(PAGE_SIZE, nr * PAGE_SIZE);

	if (!p)
		exit(1);
	return p;
}

TEST(open_reports_the_header)
{
	struct arena *a = t_arena();
	struct swap_header_info hdr;
	char path[128];
	struct swap_dev *dev = t_swapfile(a, path, sizeof(path), "hdr", 300);

	REQUIRE(dev);
	CHECK_EQ(dev->nr_pages, 300);
	CHECK_EQ(dev->nr_badpages, 0);
	CHECK(!strcmp(dev->name, path));
	CHECK(!strcmp(dev->kind, "file"));
	CHECK(!(dev->flags & SWAP_DEV_SYNC_IO));
	REQUIRE_EQ(swapfile_get_header(dev, &hdr), 0);
	CHECK(!strcmp(hdr.label, "t"));
	CHECK(!memcmp(hdr.uuid, test_uuid, 16));
	CHECK_EQ(hdr.last_page, 299);
	dev->ops->destroy(dev);
	CHECK_EQ(arena_in_use(a), 0);
	arena_destroy(a);
	unlink(path);
}

/* SOLIDSTATE must say what sysfs says about the disk under /var/tmp. */
TEST(open_reports_rotational_as_sysfs_does)
{
	struct arena *a = t_arena();
	char path[128], link[64], real[PATH_MAX], attr[PATH_MAX + 32];
	struct swap_dev *dev = t_swapfile(a, path, sizeof(path), "rot", 64);
	struct stat st;
	FILE *fp = NULL;
	int rot = -1;

	REQUIRE(dev);
	stat(path, &st);
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
	if (realpath(link, real)) {
		snprintf(attr, sizeof(attr), "%s/queue/rotational", real);
		fp = fopen(attr, "r");
		if (!fp) {
			snprintf(attr, sizeof(attr), "%s/../queue/rotational", real);
			fp = fopen(attr, "r");
		}
	}
	if (fp) {
		if (fscanf(fp, "%d", &rot) != 1)
			rot = -1;
		fclose(fp);
	}
	printf("# %s: rotational=%d, flags %#lx\n", path, rot, dev->flags);
	if (rot == 0)
		CHECK(dev->flags & SWAP_DEV_SOLIDSTATE);
	else
		CHECK(!(dev->flags & SWAP_DEV_SOLIDSTATE));
	dev->ops->destroy(dev);
	arena_destroy(a);
	unlink(path);
}

TEST(file_roundtrip_all_kinds)
{
	struct arena *a = t_arena();
	char path[128];
	struct swap_dev *dev = t_swapfile(a, path, sizeof(path), "rt", 1024);
	unsigned char *buf = pages(65), *big = pages(64);

	REQUIRE(dev);
	for (pgoff_t off = 1; off < 200; off++) {
		t_fill_kind(buf, off % NR_PAGE_KINDS, off);
		REQUIRE_EQ(dev->ops->write(dev, off, buf, 1), 0);
	}
	for (pgoff_t off = 1; off < 200; off++) {
		REQUIRE_EQ(dev->ops->read(dev, off, buf, 1), 0);
		CHECK(t_check_kind(buf, off % NR_PAGE_KINDS, off));
	}
	for (unsigned i = 0; i < 64; i++)
		t_fill_kind(big + i * PAGE_SIZE, i % NR_PAGE_KINDS, 5000 + i);
	REQUIRE_EQ(dev->ops->write(dev, 512, big, 64), 0);
	memset(big, 0, 64 * PAGE_SIZE);
	REQUIRE_EQ(dev->ops->read(dev, 512, big, 64), 0);
	for (unsigned i = 0; i < 64; i++)
		CHECK(t_check_kind(big + i * PAGE_SIZE, i % NR_PAGE_KINDS, 5000 + i));
	/* A buffer that is not page aligned goes through the bounce page. */
	for (unsigned i = 0; i < 4; i++)
		t_fill_kind(buf + 8 + i * PAGE_SIZE, PAGE_TEXT, 9000 + i);
	REQUIRE_EQ(dev->ops->write(dev, 700, buf + 8, 4), 0);
	memset(buf, 0, 65 * PAGE_SIZE);
	REQUIRE_EQ(dev->ops->read(dev, 700, buf + 8, 4), 0);
	for (unsigned i = 0; i < 4; i++)
		CHECK(t_check_kind(buf + 8 + i * PAGE_SIZE, PAGE_TEXT, 9000 + i));
	/* Slot reuse: new data replaces the old. */
	t_fill_kind(buf, PAGE_RANDOM, 31337);
	REQUIRE_EQ(dev->ops->write(dev, 3, buf, 1), 0);
	REQUIRE_EQ(dev->ops->read(dev, 3, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_RANDOM, 31337));
	CHECK_EQ(dev->ops->read(dev, 0, buf, 1), -EINVAL);
	CHECK_EQ(dev->ops->write(dev, 1023, buf, 2), -EINVAL);
	dev->ops->destroy(dev);
	arena_destroy(a);
	free(buf);
	free(big);
	unlink(path);
}

TEST(open_refuses_an_area_already_open)
{
	struct arena *a = t_arena();
	char path[128], err[256];
	struct swap_dev *dev = t_swapfile(a, path, sizeof(path), "busy", 64), *second = NULL;

	REQUIRE(dev);
	CHECK_EQ(swapfile_open(&second, a, path, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "in use"));
	dev->ops->destroy(dev);
	CHECK_EQ(swapfile_open(&second, a, path, err, sizeof(err)), 0);
	if (second)
		second->ops->destroy(second);
	arena_destroy(a);
	unlink(path);
}

TEST(file_data_survives_reopen)
{
	struct arena *a = t_arena();
	char path[128], err[256];
	struct swap_dev *dev = t_swapfile(a, path, sizeof(path), "reopen", 64);
	unsigned char *buf = pages(1);

	REQUIRE(dev);
	t_fill_kind(buf, PAGE_TEXT, 8);
	REQUIRE_EQ(dev->ops->write(dev, 9, buf, 1), 0);
	dev->ops->destroy(dev);
	REQUIRE_EQ(swapfile_open(&dev, a, path, err, sizeof(err)), 0);
	REQUIRE_EQ(dev->ops->read(dev, 9, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_TEXT, 8));
	dev->ops->destroy(dev);
	arena_destroy(a);
	free(buf);
	unlink(path);
}

TEST(file_foreign_endian_header_opens)
{
	struct arena *a = t_arena();
	char path[128], err[256];
	unsigned char page[PAGE_SIZE];
	struct swap_dev *dev;
	int fd;

	t_tmpname(path, sizeof(path), "bswap");
	REQUIRE_EQ(swapfile_format(path, 40 * PAGE_SIZE, "be", test_uuid, NULL, 0), 0);
	REQUIRE(read_file_page(path, page));
	byteswap_header(page);
	fd = open(path, O_WRONLY);
	REQUIRE(fd >= 0);
	CHECK_EQ(pwrite(fd, page, PAGE_SIZE, 0), PAGE_SIZE);
	close(fd);
	CHECK_EQ(swapfile_open(&dev, a, path, err, sizeof(err)), 0);
	if (dev) {
		CHECK_EQ(dev->nr_pages, 40);
		dev->ops->destroy(dev);
	}
	arena_destroy(a);
	unlink(path);
}

/* Open @path, expect @want and a message containing @msg. */
static void expect_refusal(const char *path, int want, const char *msg)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = NULL;
	char err[256] = "";
	int ret = swapfile_open(&dev, a, path, err, sizeof(err));

	printf("# %s -> %d: %s\n", path, ret, err);
	CHECK_EQ(ret, want);
	if (!strstr(err, msg))
		test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", err, msg);
	if (!ret)
		dev->ops->destroy(dev);
	CHECK_EQ(arena_in_use(a), 0);
	arena_destroy(a);
}

static void patch_u32(const char *path, size_t off, uint32_t v)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, &v, 4, (off_t)off) != 4)
		test_fail(__FILE__, __LINE__, "patch %s", path);
	if (fd >= 0)
		close(fd);
}

TEST(refuse_file_with_holes)
{
	char path[128];
	unsigned char page[PAGE_SIZE];
	int fd;

	t_tmpname(path, sizeof(path), "sparse");
	make_header(page, 255, 0);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(ftruncate(fd, 256 * PAGE_SIZE), 0);
	CHECK_EQ(pwrite(fd, page, PAGE_SIZE, 0), PAGE_SIZE);
	close(fd);
	expect_refusal(path, -EINVAL, "holes");
	/* A hole in the middle only. */
	REQUIRE_EQ(swapfile_format(path, 256 * PAGE_SIZE, NULL, NULL, NULL, 0), 0);
	fd = open(path, O_RDWR);
	REQUIRE(fd >= 0);
	CHECK_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100 * PAGE_SIZE,
			   PAGE_SIZE),
		 0);
	close(fd);
	expect_refusal(path, -EINVAL, "holes");
	unlink(path);
}

TEST(refuse_insecure_permissions)
{
	char path[128];

	t_tmpname(path, sizeof(path), "perm");
	REQUIRE_EQ(swapfile_format(path, 64 * PAGE_SIZE, NULL, NULL, NULL, 0), 0);
	chmod(path, 0644);
	expect_refusal(path, -EACCES, "insecure permissions 0644, fix with chmod 0600");
	chmod(path, 0660);
	expect_refusal(path, -EACCES, "insecure permissions 0660");
	chmod(path, 0600);
	expect_refusal(path, 0, "ok");
	unlink(path);
}

TEST(refuse_bad_pages_on_regular_file)
{
	char path[128];
	const uint32_t bad[] = {5, 9};

	t_tmpname(path, sizeof(path), "badpg");
	REQUIRE_EQ(swapfile_format(path, 64 * PAGE_SIZE, NULL, NULL, bad, 2), 0);
	expect_refusal(path, -EINVAL, "bad pages are not allowed on a regular file");
	unlink(path);
}

TEST(refuse_header_problems)
{
	char path[128];
	int fd;

	t_tmpname(path, sizeof(path), "hdrbad");
	REQUIRE_EQ(swapfile_format(path, 64 * PAGE_SIZE, NULL, NULL, NULL, 0), 0);
	patch_u32(path, HDR_VERSION, 2);
	expect_refusal(path, SWAP_HDR_BAD_VERSION, "found version 2");
	patch_u32(path, HDR_VERSION, 1);
	patch_u32(path, HDR_LAST_PAGE, 64);
	expect_refusal(path, SWAP_HDR_TOO_SHORT, "shorter");
	patch_u32(path, HDR_LAST_PAGE, 0);
	expect_refusal(path, SWAP_HDR_EMPTY, "empty");
	patch_u32(path, HDR_LAST_PAGE, 63);
	expect_refusal(path, 0, "ok");
	fd = open(path, O_WRONLY);
	REQUIRE(fd >= 0);
	CHECK_EQ(pwrite(fd, "SWAP-SPACE", 10, PAGE_SIZE - 10), 10);
	expect_refusal(path, SWAP_HDR_OLD_V0, "version 0");
	CHECK_EQ(pwrite(fd, "\0\0\0\0\0\0\0\0\0\0", 10, PAGE_SIZE - 10), 10);
	expect_refusal(path, SWAP_HDR_NO_SIGNATURE, "signature");
	CHECK_EQ(ftruncate(fd, 100), 0);
	expect_refusal(path, SWAP_HDR_NO_SIGNATURE, "signature");
	close(fd);
	unlink(path);
}

TEST(refuse_what_is_not_a_file_or_block_device)
{
	expect_refusal("/dev/null", -EINVAL, "not a regular file or block device");
	expect_refusal("/nonexistent/swap", -ENOENT, "cannot open");
}

TEST(file_injected_faults)
{
	struct arena *a = t_arena();
	char path[128];
	struct swap_dev *dev = t_swapfile(a, path, sizeof(path), "inject", 64);
	unsigned char *buf = pages(4);

	REQUIRE(dev);
	t_fill_kind(buf, PAGE_TEXT, 1);
	REQUIRE_EQ(dev->ops->write(dev, 1, buf, 1), 0);
	swapfile_inject(dev, 1, 2, -EIO);
	CHECK_EQ(dev->ops->read(dev, 1, buf, 1), -EIO);
	CHECK_EQ(dev->ops->write(dev, 2, buf, 1), 0);
	CHECK_EQ(dev->ops->write(dev, 2, buf, 1), -EIO);
	CHECK_EQ(dev->ops->read(dev, 1, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_TEXT, 1));
	/* Short transfers are reported as -EIO; a retry succeeds. */
	swapfile_inject(dev, 1, 1, SWAPFILE_SHORT_IO);
	memset(buf, 0, PAGE_SIZE);
	CHECK_EQ(dev->ops->read(dev, 1, buf, 1), -EIO);
	CHECK_EQ(dev->ops->read(dev, 1, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_TEXT, 1));
	for (int i = 0; i < 4; i++)
		t_fill_kind(buf + i * PAGE_SIZE, PAGE_RANDOM, 40 + i);
	CHECK_EQ(dev->ops->write(dev, 4, buf, 4), -EIO);
	CHECK_EQ(dev->ops->write(dev, 4, buf, 4), 0);
	memset(buf, 0, 4 * PAGE_SIZE);
	CHECK_EQ(dev->ops->read(dev, 4, buf, 4), 0);
	for (int i = 0; i < 4; i++)
		CHECK(t_check_kind(buf + i * PAGE_SIZE, PAGE_RANDOM, 40 + i));
	dev->ops->destroy(dev);
	arena_destroy(a);
	free(buf);
	unlink(path);
}

TEST(file_discard_punches_and_destroy_refills)
{
	struct arena *a = t_arena();
	char path[128], err[256];
	struct swap_dev *dev = t_swapfile(a, path, sizeof(path), "discard", 256);
	unsigned char *buf = pages(1);

	REQUIRE(dev);
	if (!(dev->flags & SWAP_DEV_DISCARD)) {
		test_skip("the filesystem under /var/tmp cannot punch holes");
		goto out;
	}
	CHECK(t_file_fully_allocated(path));
	t_fill_kind(buf, PAGE_RANDOM, 3);
	for (pgoff_t off = 16; off < 32; off++)
		REQUIRE_EQ(dev->ops->write(dev, off, buf, 1), 0);
	CHECK_EQ(dev->ops->discard(dev, 16, 16), 0);
	CHECK(!t_file_fully_allocated(path));
	REQUIRE_EQ(dev->ops->read(dev, 20, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_ZERO, 0));
	CHECK_EQ(dev->ops->discard(dev, 0, 1), -EINVAL);
	dev->ops->destroy(dev);
	CHECK(t_file_fully_allocated(path));
	CHECK_EQ(swapfile_open(&dev, a, path, err, sizeof(err)), 0);
out:
	if (dev)
		dev->ops->destroy(dev);
	arena_destroy(a);
	free(buf);
	unlink(path);
}

/* ---- interoperability with util-linux and the kernel ---- */

static char swapon_path[128]; /* a file this process turned on, for cleanup */

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have_tool(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return run(cmd) == 0;
}

static bool in_proc_swaps(const char *path)
{
	char line[512];
	size_t len = strlen(path);
	bool found = false;
	FILE *fp = fopen("/proc/swaps", "r");

	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, path, len) && (line[len] == ' ' || line[len] == '\t'))
			found = true;
	fclose(fp);
	return found;
}

static void swapoff_leftover(void)
{
	char cmd[256];

	if (!swapon_path[0])
		return;
	snprintf(cmd, sizeof(cmd), "swapoff '%s' 2>/dev/null", swapon_path);
	run(cmd);
	unlink(swapon_path);
}

/* Why interop tests cannot run here, or NULL. */
static const char *interop_unavailable(const char *tool)
{
	if (geteuid() != 0)
		return "needs root";
	if (!have_tool(tool))
		return "util-linux tool missing";
	return NULL;
}

TEST(interop_system_swapon_accepts_our_file)
{
	const char *why = interop_unavailable("swapon");
	char cmd[512];
	int ret;

	if (why || !have_tool("swapoff")) {
		test_skip(why ? why : "swapoff missing");
		return;
	}
	t_tmpname(swapon_path, sizeof(swapon_path), "swapon");
	REQUIRE_EQ(swapfile_format(swapon_path, 8 << 20, "uswap-t", NULL, NULL, 0), 0);
	CHECK(!in_proc_swaps(swapon_path));
	snprintf(cmd, sizeof(cmd), "swapon '%s'", swapon_path);
	ret = run(cmd);
	if (ret != 0) {
		/* Containers may forbid swapon: tell that from a format problem. */
		snprintf(cmd, sizeof(cmd),
			 "mkswap -q '%s' >/dev/null 2>&1 && swapon '%s' 2>/dev/null && "
			 "swapoff '%s'",
			 swapon_path, swapon_path, swapon_path);
		if (run(cmd) != 0) {
			test_skip("swapon is not permitted here");
		} else {
			test_fail(__FILE__, __LINE__, "swapon refused our file, accepted mkswap's");
		}
		goto out;
	}
	CHECK(in_proc_swaps(swapon_path));
	snprintf(cmd, sizeof(cmd), "swapoff '%s'", swapon_path);
	CHECK_EQ(run(cmd), 0);
	CHECK(!in_proc_swaps(swapon_path));
out:
	swapoff_leftover();
	swapon_path[0] = '\0';
}

TEST(interop_swaplabel_reads_our_label_and_uuid)
{
	const char *why = interop_unavailable("swaplabel");
	char path[128], cmd[256], line[256], label[64] = "", uuid[64] = "";
	FILE *fp;

	if (why) {
		test_skip(why);
		return;
	}
	t_tmpname(path, sizeof(path), "label");
	REQUIRE_EQ(swapfile_format(path, 1 << 20, "uswap-label", test_uuid, NULL, 0), 0);
	snprintf(cmd, sizeof(cmd), "swaplabel '%s'", path);
	fp = popen(cmd, "r");
	REQUIRE(fp);
	while (fgets(line, sizeof(line), fp)) {
		sscanf(line, "LABEL: %63s", label);
		sscanf(line, "UUID: %63s", uuid);
	}
	CHECK_EQ(pclose(fp), 0);
	CHECK(!strcmp(label, "uswap-label"));
	CHECK(!strcmp(uuid, "11223344-5566-4788-99aa-bbccddeeff01"));
	printf("# swaplabel: LABEL %s UUID %s\n", label, uuid);
	unlink(path);
}

TEST(interop_mkswap_file_opens)
{
	const char *why = interop_unavailable("mkswap");
	char path[128], cmd[512], errbuf[256];
	struct swap_header_info hdr;
	struct arena *a;
	struct swap_dev *dev = NULL;
	unsigned char *buf;
	int fd;

	if (why) {
		test_skip(why);
		return;
	}
	t_tmpname(path, sizeof(path), "mkswap");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(posix_fallocate(fd, 0, 4 << 20), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "mkswap -L lbl -U 11223344-5566-4788-99aa-bbccddeeff01 '%s' >/dev/null", path);
	REQUIRE_EQ(run(cmd), 0);
	a = t_arena();
	CHECK_EQ(swapfile_open(&dev, a, path, errbuf, sizeof(errbuf)), 0);
	if (dev) {
		CHECK_EQ(dev->nr_pages, (4 << 20) / PAGE_SIZE);
		REQUIRE_EQ(swapfile_get_header(dev, &hdr), 0);
		CHECK(!strcmp(hdr.label, "lbl"));
		CHECK(!memcmp(hdr.uuid, test_uuid, 16));
		buf = pages(1);
		t_fill_kind(buf, PAGE_TEXT, 2);
		CHECK_EQ(dev->ops->write(dev, dev->nr_pages - 1, buf, 1), 0);
		CHECK_EQ(dev->ops->read(dev, dev->nr_pages - 1, buf, 1), 0);
		CHECK(t_check_kind(buf, PAGE_TEXT, 2));
		free(buf);
		dev->ops->destroy(dev);
	}
	arena_destroy(a);
	unlink(path);
}

/* A loop device over a scratch file stands in for a partition. */
TEST(block_device_formats_and_opens)
{
	const char *why = interop_unavailable("losetup");
	char path[128], cmd[256], loopdev[64] = "", errbuf[256];
	struct swap_header_info hdr;
	struct swap_dev *dev = NULL;
	struct arena *a;
	unsigned char *buf;
	FILE *fp;
	int fd;

	if (why) {
		test_skip(why);
		return;
	}
	t_tmpname(path, sizeof(path), "loop");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(posix_fallocate(fd, 0, 8 << 20), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", path);
	fp = popen(cmd, "r");
	if (!fp || !fgets(loopdev, sizeof(loopdev), fp) || pclose(fp) != 0 || !loopdev[0]) {
		test_skip("no loop device available");
		unlink(path);
		return;
	}
	loopdev[strcspn(loopdev, "\n")] = '\0';
	CHECK_EQ(swapfile_format(loopdev, 16 << 20, NULL, NULL, NULL, 0), -ENOSPC);
	CHECK_EQ(swapfile_format(loopdev, 0, "blk", test_uuid, (const uint32_t[]){7}, 1), 0);
	a = t_arena();
	CHECK_EQ(swapfile_open(&dev, a, loopdev, errbuf, sizeof(errbuf)), 0);
	if (dev) {
		printf("# %s: %s, flags %#lx\n", loopdev, errbuf, dev->flags);
		CHECK(!strcmp(dev->kind, "partition"));
		CHECK_EQ(dev->nr_pages, (8 << 20) / PAGE_SIZE);
		/* Bad pages are honoured on block devices. */
		CHECK_EQ(dev->nr_badpages, 1);
		CHECK_EQ(dev->badpages[0], 7);
		REQUIRE_EQ(swapfile_get_header(dev, &hdr), 0);
		CHECK(!strcmp(hdr.label, "blk"));
		buf = pages(2);
		t_fill_kind(buf, PAGE_TEXT, 3);
		t_fill_kind(buf + PAGE_SIZE, PAGE_RANDOM, 4);
		CHECK_EQ(dev->ops->write(dev, 100, buf, 2), 0);
		memset(buf, 0, 2 * PAGE_SIZE);
		CHECK_EQ(dev->ops->read(dev, 100, buf, 2), 0);
		CHECK(t_check_kind(buf, PAGE_TEXT, 3));
		CHECK(t_check_kind(buf + PAGE_SIZE, PAGE_RANDOM, 4));
		if (dev->flags & SWAP_DEV_DISCARD)
			CHECK_EQ(dev->ops->discard(dev, 100, 2), 0);
		free(buf);
		dev->ops->destroy(dev);
	}
	arena_destroy(a);
	snprintf(cmd, sizeof(cmd), "losetup -d '%s'", loopdev);
	CHECK_EQ(run(cmd), 0);
	unlink(path);
}

__attribute__((constructor)) static void register_cleanup(void)
{
	atexit(swapoff_leftover);
}
