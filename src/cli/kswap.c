// SPDX-License-Identifier: MIT
/*
 * kswap.c - the kernel side of `uswap bench compare`: a memory cgroup
 * limited to the budget (cgroup v1, or v2 where that is what the machine
 * has) swapping to the kernel's /dev/zram0, set up for one run and put back
 * exactly as it was found.
 *
 * What "as it was found" means: /proc/swaps does not list zram0, zram0 is
 * uninitialized again with the compressor it had selected, and the run's
 * cgroup is gone with every process in it. A zram0 that is initialized
 * (someone's data may be on it), in service as swap or mounted is never
 * touched: the side is unavailable. One compare at a time holds an flock
 * on /sys/block/zram0 for the whole command.
 *
 * Owns: struct kswap and the kernel objects it creates (zram0's setup, its
 * swap area, the cgroup uswap-compare-PID). Locking: none (single thread);
 * kswap_teardown() may also run from an atexit handler.
 */
#include "compare.h"
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dev/file.h"

#define ZRAM_SYS    "/sys/block/zram0"
#define ZRAM_DEV    "/dev/zram0"
#define CG_V1_ROOT  "/sys/fs/cgroup/memory"
#define CG_V2_ROOT  "/sys/fs/cgroup"
#define SWAP_PRIO   32767 /* used before any other swap area the machine has */
#define RETRY_MS    50
#define RETRY_COUNT 100 /* 5 s for a step that the kernel finishes lazily */

/*
 * The swapon(2) and swapoff(2) system calls, by number: uswap's engine has
 * functions of those (kernel) names, which the static link would pick.
 */
static int sys_swapon(const char *path, int flags)
{
	return (int)syscall(SYS_swapon, path, flags);
}

static int sys_swapoff(const char *path)
{
	return (int)syscall(SYS_swapoff, path);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Write @text to a sysfs or cgroup file. Return: 0 or -errno. */
static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = write(fd, text, len);
	if (r < 0)
		r = -errno;
	close(fd);
	return r < 0 ? (int)r : (size_t)r == len ? 0 : -EIO;
}

static int write_u64(const char *path, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return write_text(path, buf);
}

static uint64_t read_u64(const char *path)
{
	char buf[64];

	if (cli_read_text(path, buf, sizeof(buf)) <= 0)
		return 0;
	return strtoull(buf, NULL, 10);
}

/* The value of "KEY value" line @key in a stat-like file, or 0. */
static uint64_t stat_field(const char *path, const char *key)
{
	char buf[8192];
	size_t klen = strlen(key);

	if (cli_read_text(path, buf, sizeof(buf)) <= 0)
		return 0;
	for (char *line = buf; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (!strncmp(line, key, klen) && line[klen] == ' ')
			return strtoull(line + klen + 1, NULL, 10);
	return 0;
}

/* The compressor zram0 has selected ("[lz4]" in comp_algorithm), or "". */
static void zram_selected(char *out, size_t len)
{
	char buf[256], *open_, *close_;

	out[0] = '\0';
	if (cli_read_text(ZRAM_SYS "/comp_algorithm", buf, sizeof(buf)) <= 0)
		return;
	open_ = strchr(buf, '[');
	close_ = open_ ? strchr(open_, ']') : NULL;
	if (open_ && close_)
		snprintf(out, len, "%.*s", (int)(close_ - open_ - 1), open_ + 1);
}

/* Whether zram0 offers @name. @offered gets the list, brackets removed. */
static bool zram_offers(const char *name, char *offered, size_t len)
{
	char buf[256], *save = NULL;
	bool found = false;
	size_t n = 0;

	offered[0] = '\0';
	if (cli_read_text(ZRAM_SYS "/comp_algorithm", buf, sizeof(buf)) <= 0)
		return false;
	for (char *tok = strtok_r(buf, " \n[]", &save); tok; tok = strtok_r(NULL, " \n[]", &save)) {
		found |= !strcmp(tok, name);
		n += (size_t)snprintf(offered + n, n < len ? len - n : 0, "%s%s", n ? " " : "",
				      tok);
	}
	return found;
}

/* Whether @file ("/proc/swaps", "/proc/mounts") names /dev/zram0. */
static bool lists_zram(const char *file)
{
	static char buf[65536];

	if (cli_read_text(file, buf, sizeof(buf)) < 0)
		return false;
	for (char *p = buf; (p = strstr(p, ZRAM_DEV)); p++)
		if ((p == buf || p[-1] == '\n') && (isspace((unsigned char)p[strlen(ZRAM_DEV)])))
			return true;
	return false;
}

static void unavailable(struct kswap *ks, const char *fmt, const char *arg)
{
	ks->available = false;
	snprintf(ks->why, sizeof(ks->why), fmt, arg);
}

static bool find_cgroup_root(struct kswap *ks)
{
	char buf[512];

	if (access(CG_V1_ROOT "/memory.limit_in_bytes", W_OK) == 0) {
		ks->cgroup_v = 1;
		snprintf(ks->cg_root, sizeof(ks->cg_root), "%s", CG_V1_ROOT);
		return true;
	}
	if (cli_read_text(CG_V2_ROOT "/cgroup.subtree_control", buf, sizeof(buf)) >= 0 &&
	    strstr(buf, "memory")) {
		ks->cgroup_v = 2;
		snprintf(ks->cg_root, sizeof(ks->cg_root), "%s", CG_V2_ROOT);
		return true;
	}
	return false;
}

int kswap_open(struct kswap *ks, const char *comp)
{
	char offered[128], init[16];

	memset(ks, 0, sizeof(*ks));
	ks->lock_fd = -1;
	ks->available = true;
	snprintf(ks->comp, sizeof(ks->comp), "%s", comp);
	if (getenv("USWAP_COMPARE_NO_KERNEL") && strcmp(getenv("USWAP_COMPARE_NO_KERNEL"), "0")) {
		unavailable(ks, "%s", "USWAP_COMPARE_NO_KERNEL is set");
		return 0;
	}
	if (geteuid() != 0) {
		unavailable(ks, "%s", "it needs root (zram, swapon and a memory cgroup)");
		return 0;
	}
	if (!find_cgroup_root(ks)) {
		unavailable(ks, "%s",
			    "no memory cgroup controller (neither " CG_V1_ROOT
			    " nor memory in " CG_V2_ROOT "/cgroup.subtree_control)");
		return 0;
	}
	if (access(ZRAM_SYS "/disksize", W_OK) || access(ZRAM_DEV, R_OK | W_OK)) {
		unavailable(ks, "%s", "no " ZRAM_DEV " (load the zram module: modprobe zram)");
		return 0;
	}
	ks->lock_fd = open(ZRAM_SYS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ks->lock_fd < 0 || flock(ks->lock_fd, LOCK_EX | LOCK_NB)) {
		unavailable(ks, "%s", "another uswap bench compare is using " ZRAM_DEV);
		goto out_unlock;
	}
	if (lists_zram("/proc/swaps")) {
		unavailable(ks, "%s", ZRAM_DEV " is in service as swap (left untouched)");
		goto out_unlock;
	}
	if (lists_zram("/proc/mounts")) {
		unavailable(ks, "%s", ZRAM_DEV " is mounted (left untouched)");
		goto out_unlock;
	}
	if (cli_read_text(ZRAM_SYS "/initstate", init, sizeof(init)) <= 0 || atoi(init) != 0) {
		unavailable(ks, "%s",
			    ZRAM_DEV " is already initialized and may hold someone's data "
				     "(left untouched)");
		goto out_unlock;
	}
	if (!zram_offers(comp, offered, sizeof(offered))) {
		char msg[192];

		snprintf(msg, sizeof(msg), "this kernel's zram offers %s, not %s (use --comp lz4)",
			 offered, comp);
		unavailable(ks, "%s", msg);
		goto out_unlock;
	}
	zram_selected(ks->zram_comp_before, sizeof(ks->zram_comp_before));
	ks->zram_disksize_before = read_u64(ZRAM_SYS "/disksize");
	return 0;

out_unlock:
	if (ks->lock_fd >= 0)
		close(ks->lock_fd);
	ks->lock_fd = -1;
	return 0;
}

static void read_vmstat(uint64_t *in, uint64_t *out)
{
	*in = stat_field("/proc/vmstat", "pswpin");
	*out = stat_field("/proc/vmstat", "pswpout");
}

static void cg_file(const struct kswap *ks, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", ks->cg_path, name);
}

int kswap_setup(struct kswap *ks, uint64_t budget, uint64_t disksize, char *err, size_t errlen)
{
	char path[256];
	int ret;

	ret = write_text(ZRAM_SYS "/comp_algorithm", ks->comp);
	if (ret) {
		snprintf(err, errlen, "cannot select %s for zram0: %s", ks->comp, strerror(-ret));
		return ret;
	}
	ks->zram_set = true;
	ret = write_u64(ZRAM_SYS "/disksize", disksize);
	if (ret) {
		snprintf(err, errlen, "cannot size zram0: %s", strerror(-ret));
		goto fail;
	}
	ret = swapfile_format(ZRAM_DEV, 0, "uswap-compare", NULL, NULL, 0);
	if (ret) {
		snprintf(err, errlen, "cannot write a swap header on " ZRAM_DEV ": %s",
			 strerror(-ret));
		goto fail;
	}
	if (sys_swapon(ZRAM_DEV, SWAP_FLAG_PREFER | (SWAP_PRIO << SWAP_FLAG_PRIO_SHIFT))) {
		ret = -errno;
		snprintf(err, errlen, "swapon " ZRAM_DEV ": %s", strerror(errno));
		goto fail;
	}
	ks->swap_on = true;

	snprintf(ks->cg_path, sizeof(ks->cg_path), "%s/uswap-compare-%d", ks->cg_root,
		 (int)getpid());
	if (mkdir(ks->cg_path, 0755)) {
		ret = -errno;
		snprintf(err, errlen, "cannot make the cgroup %s: %s", ks->cg_path,
			 strerror(errno));
		ks->cg_path[0] = '\0';
		goto fail;
	}
	cg_file(ks, ks->cgroup_v == 1 ? "memory.limit_in_bytes" : "memory.max", path, sizeof(path));
	ret = write_u64(path, budget);
	if (ret) {
		snprintf(err, errlen, "cannot limit %s: %s", path, strerror(-ret));
		goto fail;
	}
	if (ks->cgroup_v == 1) {
		cg_file(ks, "memory.max_usage_in_bytes", path, sizeof(path));
		write_text(path, "0");
	}
	read_vmstat(&ks->vmstat_in, &ks->vmstat_out);
	ks->peak_anon = 0;
	return 0;

fail:
	kswap_teardown(ks);
	return ret;
}

int kswap_oom_kills(const struct kswap *ks)
{
	char path[256];

	if (!ks->cg_path[0])
		return 0;
	cg_file(ks, ks->cgroup_v == 1 ? "memory.oom_control" : "memory.events", path, sizeof(path));
	return (int)stat_field(path, "oom_kill");
}

int kswap_enter(const struct kswap *ks)
{
	char path[256], pid[16];

	cg_file(ks, "cgroup.procs", path, sizeof(path));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return write_text(path, pid);
}

void kswap_sample(struct kswap *ks)
{
	char path[256];
	uint64_t anon;

	if (!ks->cg_path[0])
		return;
	cg_file(ks, "memory.stat", path, sizeof(path));
	anon = stat_field(path, ks->cgroup_v == 1 ? "rss" : "anon");
	if (anon > ks->peak_anon)
		ks->peak_anon = anon;
}

void kswap_figures(struct kswap *ks, struct kswap_figures *f)
{
	char path[256], mm[256];
	unsigned long long v[6] = {0};
	uint64_t in, out;

	kswap_sample(ks);
	read_vmstat(&in, &out);
	f->pswpin = in - ks->vmstat_in;
	f->pswpout = out - ks->vmstat_out;
	f->peak_anon = ks->peak_anon;
	cg_file(ks, ks->cgroup_v == 1 ? "memory.max_usage_in_bytes" : "memory.peak", path,
		sizeof(path));
	f->peak_usage = read_u64(path);
	/* mm_stat: orig_data_size compr_data_size mem_used_total mem_limit mem_used_max ... */
	if (cli_read_text(ZRAM_SYS "/mm_stat", mm, sizeof(mm)) > 0)
		sscanf(mm, "%llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]);
	f->zram_orig = v[0];
	f->zram_peak = v[4];
}

/* Kill every process left in the run's cgroup; wait until it is empty. */
static void cgroup_empty(struct kswap *ks)
{
	char path[256], buf[4096];

	cg_file(ks, "cgroup.procs", path, sizeof(path));
	for (int i = 0; i < RETRY_COUNT; i++) {
		bool any = false;

		if (cli_read_text(path, buf, sizeof(buf)) < 0)
			return;
		for (char *p = buf; *p;) {
			char *end;
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0) {
				kill((pid_t)pid, SIGKILL);
				any = true;
			}
			p = end;
		}
		if (!any)
			return;
		sleep_ms(RETRY_MS);
	}
}

int kswap_teardown(struct kswap *ks)
{
	int ret = 0, i;

	if (ks->cg_path[0]) {
		cgroup_empty(ks);
		for (i = 0; i < RETRY_COUNT && rmdir(ks->cg_path) && errno == EBUSY; i++)
			sleep_ms(RETRY_MS);
		if (access(ks->cg_path, F_OK) == 0) {
			fprintf(stderr, "uswap bench compare: cannot remove the cgroup %s: %s\n",
				ks->cg_path, strerror(errno));
			ret = ret ?: -EBUSY;
		}
		ks->cg_path[0] = '\0';
	}
	if (ks->swap_on) {
		for (i = 0; i < RETRY_COUNT && sys_swapoff(ZRAM_DEV) && errno == EBUSY; i++)
			sleep_ms(RETRY_MS);
		if (lists_zram("/proc/swaps")) {
			fprintf(stderr, "uswap bench compare: swapoff " ZRAM_DEV ": %s\n",
				strerror(errno));
			ret = ret ?: -EBUSY;
		}
		ks->swap_on = false;
	}
	if (ks->zram_set) {
		int r = -EBUSY;

		for (i = 0; i < RETRY_COUNT && (r = write_text(ZRAM_SYS "/reset", "1")) == -EBUSY;
		     i++)
			sleep_ms(RETRY_MS);
		if (r) {
			fprintf(stderr, "uswap bench compare: cannot reset zram0: %s\n",
				strerror(-r));
			ret = ret ?: r;
		}
		if (ks->zram_comp_before[0]) {
			char now[32];

			zram_selected(now, sizeof(now));
			if (strcmp(now, ks->zram_comp_before))
				write_text(ZRAM_SYS "/comp_algorithm", ks->zram_comp_before);
		}
		ks->zram_set = false;
	}
	return ret;
}

int kswap_close(struct kswap *ks)
{
	char comp[32];
	uint64_t disksize;
	int ret;

	if (ks->lock_fd < 0)
		return 0;
	ret = kswap_teardown(ks);
	zram_selected(comp, sizeof(comp));
	disksize = read_u64(ZRAM_SYS "/disksize");
	if (lists_zram("/proc/swaps")) {
		fprintf(stderr, "uswap bench compare: " ZRAM_DEV " is still in /proc/swaps\n");
		ret = -EIO;
	}
	if (strcmp(comp, ks->zram_comp_before) || disksize != ks->zram_disksize_before) {
		fprintf(stderr,
			"uswap bench compare: zram0 is not as it was: compressor %s (was %s), "
			"disksize %" PRIu64 " (was %" PRIu64 ")\n",
			comp, ks->zram_comp_before, disksize, ks->zram_disksize_before);
		ret = -EIO;
	}
	close(ks->lock_fd);
	ks->lock_fd = -1;
	return ret;
}
