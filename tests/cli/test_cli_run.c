// SPDX-License-Identifier: MIT
/*
 * test_cli_run.c - the parts of `uswap run` that start nothing: --budget
 * parsing, PATH lookup, telling dynamic from static ELF programs and
 * scripts, latency percentiles of the status page histogram, and reading
 * /proc/PID/status.
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "test.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/run.h"
#include "uffd/run_status.h"

TEST(budget_sizes_minimum_and_rounding)
{
	uint64_t v = 7;

	CHECK_EQ(run_parse_budget("256M", &v), 0);
	CHECK_EQ(v, 256ULL << 20);
	CHECK_EQ(run_parse_budget("4M", &v), 0);
	CHECK_EQ(v, RUN_MIN_BUDGET);
	/* Rounded down to whole pages. */
	CHECK_EQ(run_parse_budget("4194305", &v), 0);
	CHECK_EQ(v, 4194304);
	CHECK_EQ(run_parse_budget("5000001", &v), 0);
	CHECK_EQ(v, 5000001ULL & ~4095ULL);
	v = 7;
	CHECK_EQ(run_parse_budget("4194303", &v), -EDOM);
	CHECK_EQ(run_parse_budget("1M", &v), -EDOM);
	CHECK_EQ(run_parse_budget("0", &v), -EDOM);
	CHECK_EQ(run_parse_budget("12X", &v), -EINVAL);
	CHECK_EQ(run_parse_budget("", &v), -EINVAL);
	CHECK_EQ(run_parse_budget("-8M", &v), -EINVAL);
	CHECK_EQ(run_parse_budget("99999999999T", &v), -ERANGE);
	CHECK_EQ(v, 7);
}

static char tmpdir[64];

static void make_file(const char *name, const void *data, size_t len, mode_t mode)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, len), (long long)len);
	close(fd);
	chmod(path, mode);
}

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/uswap-run-test.XXXXXX");
	if (!mkdtemp(tmpdir))
		tmpdir[0] = '\0';
}

static void remove_tmpdir(const char **names, unsigned n)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
		rmdir(path);
	}
	rmdir(tmpdir);
}

TEST(find_program_like_a_shell)
{
	const char *names[] = {"a", "b", "noexec", "dir", "sub"};
	char out[PATH_MAX], path_env[256], want[PATH_MAX];

	make_tmpdir();
	REQUIRE(tmpdir[0]);
	make_file("a", "#!/bin/sh\n", 10, 0755);
	make_file("noexec", "#!/bin/sh\n", 10, 0644);
	snprintf(out, sizeof(out), "%s/dir", tmpdir);
	REQUIRE(mkdir(out, 0755) == 0);

	/* Found in the second directory of PATH, not the first. */
	snprintf(path_env, sizeof(path_env), "/nonexistent:%s", tmpdir);
	CHECK_EQ(run_find_program("a", path_env, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/a", tmpdir);
	CHECK(!strcmp(out, want));
	/* Nowhere: ENOENT; only a non-executable one: EACCES; a directory too. */
	CHECK_EQ(run_find_program("zz-not-here", path_env, out, sizeof(out)), -ENOENT);
	CHECK_EQ(run_find_program("noexec", path_env, out, sizeof(out)), -EACCES);
	CHECK_EQ(run_find_program("dir", path_env, out, sizeof(out)), -EACCES);
	CHECK_EQ(run_find_program("", path_env, out, sizeof(out)), -ENOENT);
	/* With a slash, PATH is not used. */
	CHECK_EQ(run_find_program(want, "/nonexistent", out, sizeof(out)), 0);
	CHECK(!strcmp(out, want));
	CHECK_EQ(run_find_program("./a", "/nonexistent", out, sizeof(out)), -ENOENT);
	snprintf(want, sizeof(want), "%s/noexec", tmpdir);
	CHECK_EQ(run_find_program(want, NULL, out, sizeof(out)), -EACCES);
	/* The default PATH finds sh. */
	CHECK_EQ(run_find_program("sh", NULL, out, sizeof(out)), 0);
	CHECK_EQ(run_find_program("sh", path_env, out, 4), -ENAMETOOLONG);
	remove_tmpdir(names, ARRAY_SIZE(names));
}

/* An ELF image: header, @nph program headers (one PT_INTERP if @interp). */
static size_t build_elf(unsigned char *buf, size_t len, const char *interp, unsigned char cls,
			uint16_t machine, uint16_t type)
{
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph[2] = {0};
	size_t off = sizeof(eh) + sizeof(ph);

	memset(buf, 0, len);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = cls;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = type;
	eh.e_machine = machine;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	ph[0].p_type = PT_LOAD;
	ph[1].p_type = interp ? PT_INTERP : PT_NOTE;
	if (interp) {
		ph[1].p_offset = off;
		ph[1].p_filesz = strlen(interp) + 1;
		memcpy(buf + off, interp, strlen(interp) + 1);
		off += strlen(interp) + 1;
	}
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	return off;
}

static int kind_of(const void *data, size_t len, char *interp, char *arg)
{
	int fd = memfd_create("elf", MFD_CLOEXEC), ret;

	if (fd < 0)
		return -999;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -998;
	}
	ret = run_exec_kind(fd, interp, PATH_MAX, arg, PATH_MAX);
	close(fd);
	return ret;
}

#if defined(__x86_64__)
#define MY_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define MY_MACHINE EM_AARCH64
#endif

TEST(elf_interp_tells_dynamic_from_static)
{
	static unsigned char buf[1024];
	char interp[PATH_MAX], arg[PATH_MAX];
	size_t n;
	int fd;

	n = build_elf(buf, sizeof(buf), "/lib64/ld-test.so.2", ELFCLASS64, MY_MACHINE, ET_DYN);
	CHECK_EQ(kind_of(buf, n, interp, arg), RUN_EXEC_DYNAMIC);
	CHECK(!strcmp(interp, "/lib64/ld-test.so.2"));
	/* No PT_INTERP: static, whether ET_EXEC or static-pie ET_DYN. */
	n = build_elf(buf, sizeof(buf), NULL, ELFCLASS64, MY_MACHINE, ET_EXEC);
	CHECK_EQ(kind_of(buf, n, interp, arg), RUN_EXEC_STATIC);
	n = build_elf(buf, sizeof(buf), NULL, ELFCLASS64, MY_MACHINE, ET_DYN);
	CHECK_EQ(kind_of(buf, n, interp, arg), RUN_EXEC_STATIC);
	/* Another class or machine. */
	n = build_elf(buf, sizeof(buf), "/lib/ld.so", ELFCLASS32, MY_MACHINE, ET_DYN);
	CHECK_EQ(kind_of(buf, n, interp, arg), RUN_EXEC_FOREIGN);
	n = build_elf(buf, sizeof(buf), "/lib/ld.so", ELFCLASS64, EM_RISCV, ET_DYN);
	CHECK_EQ(kind_of(buf, n, interp, arg), RUN_EXEC_FOREIGN);
	/* Truncated: the interpreter string lies past the end of the file. */
	n = build_elf(buf, sizeof(buf), "/lib64/ld-test.so.2", ELFCLASS64, MY_MACHINE, ET_DYN);
	CHECK_EQ(kind_of(buf, n - 4, interp, arg), -ENOEXEC);
	/* Program headers past the end, and a header shorter than Ehdr. */
	CHECK_EQ(kind_of(buf, sizeof(Elf64_Ehdr) + 8, interp, arg), -ENOEXEC);
	CHECK_EQ(kind_of(buf, 40, interp, arg), -ENOEXEC);
	/* A relocatable object is not a program. */
	n = build_elf(buf, sizeof(buf), NULL, ELFCLASS64, MY_MACHINE, ET_REL);
	CHECK_EQ(kind_of(buf, n, interp, arg), -ENOEXEC);
	CHECK_EQ(kind_of("plain text\n", 11, interp, arg), RUN_EXEC_UNKNOWN);
	CHECK_EQ(kind_of("", 0, interp, arg), RUN_EXEC_UNKNOWN);

	/* This very test program is dynamically linked. */
	fd = open("/proc/self/exe", O_RDONLY);
	REQUIRE(fd >= 0);
	CHECK_EQ(run_exec_kind(fd, interp, sizeof(interp), arg, sizeof(arg)), RUN_EXEC_DYNAMIC);
	CHECK(strstr(interp, "ld") != NULL);
	close(fd);
}

TEST(shebang_lines_split_like_the_kernel)
{
	char interp[PATH_MAX], arg[PATH_MAX];
	const char *s;

	s = "#!/bin/sh\necho hi\n";
	CHECK_EQ(kind_of(s, strlen(s), interp, arg), RUN_EXEC_SCRIPT);
	CHECK(!strcmp(interp, "/bin/sh"));
	CHECK(!strcmp(arg, ""));
	s = "#! /usr/bin/env  python3 -u \r\nprint(1)\n";
	CHECK_EQ(kind_of(s, strlen(s), interp, arg), RUN_EXEC_SCRIPT);
	CHECK(!strcmp(interp, "/usr/bin/env"));
	CHECK(!strcmp(arg, "python3 -u")); /* one argument, as the kernel passes it */
	s = "#!/bin/bash";
	CHECK_EQ(kind_of(s, strlen(s), interp, arg), RUN_EXEC_SCRIPT);
	CHECK(!strcmp(interp, "/bin/bash"));
	s = "#!   \nx\n";
	CHECK_EQ(kind_of(s, strlen(s), interp, arg), -ENOEXEC);
}

TEST(latency_buckets_and_percentiles)
{
	uint64_t hist[USWAP_RUN_LAT_BUCKETS] = {0}, us = 12345;

	CHECK_EQ(run_lat_bucket_low(0), 0);
	CHECK_EQ(run_lat_bucket_low(17), 17);
	CHECK_EQ(run_lat_bucket_low(255), 255);
	CHECK_EQ(run_lat_bucket_low(256), 256);
	CHECK_EQ(run_lat_bucket_low(257), 512);
	CHECK_EQ(run_lat_bucket_low(USWAP_RUN_LAT_BUCKETS - 1),
		 256ULL << (USWAP_RUN_LAT_BUCKETS - 1 - 256));

	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 500, &us), -ENODATA);
	CHECK_EQ(us, 12345);
	/* 100 samples: 50 at 3 us, 49 at 8 us, 1 at 700 us (bucket 257). */
	hist[3] = 50;
	hist[8] = 49;
	hist[257] = 1;
	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 500, &us), 0);
	CHECK_EQ(us, 3); /* the 50th sample */
	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 510, &us), 0);
	CHECK_EQ(us, 8); /* the 51st */
	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 990, &us), 0);
	CHECK_EQ(us, 8); /* the 99th */
	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 1000, &us), 0);
	CHECK_EQ(us, 512);
	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 0, &us), 0);
	CHECK_EQ(us, 3);
	/* One sample: every percentile is it. */
	memset(hist, 0, sizeof(hist));
	hist[260] = 1;
	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 500, &us), 0);
	CHECK_EQ(us, 4096);
	/* Counts near 2^64 / 1000 do not overflow the rank. */
	memset(hist, 0, sizeof(hist));
	hist[1] = UINT64_MAX / 2;
	hist[2] = UINT64_MAX / 2;
	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 500, &us), 0);
	CHECK_EQ(us, 1);
	CHECK_EQ(run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 501, &us), 0);
	CHECK_EQ(us, 2);
}

TEST(proc_status_fields)
{
	const char *text = "Name:\tcat\nVmRSS:\t    1234 kB\nRssAnon:\t     100 kB\n"
			   "RssFile:\t    1000 kB\nRssShmem:\t       0 kB\n";
	uint64_t v = 1;

	CHECK_EQ(run_status_field(text, "RssAnon", &v), 0);
	CHECK_EQ(v, 100 << 10);
	CHECK_EQ(run_status_field(text, "RssShmem", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(run_status_field(text, "VmRSS", &v), 0);
	CHECK_EQ(v, 1234 << 10);
	/* A prefix of a key is not the key. */
	CHECK_EQ(run_status_field(text, "Rss", &v), -ENOENT);
	CHECK_EQ(run_status_field("Name:\tzombie\n", "RssAnon", &v), -ENOENT);
}
