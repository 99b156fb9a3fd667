// SPDX-License-Identifier: MIT
/*
 * device.c - engines and devices for the uswap command: parse --device and
 * --comp, put the chosen device into service, take every device down.
 *
 * Owns: nothing past the calls. Locking: the engine's own (swapon/swapoff
 * take swap_lock); these helpers run on the command's main thread.
 */
#include "cli.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "dev/file.h"
#include "dev/zram.h"
#include "swap/swap.h"

/* Address space for an engine: reserved, touched only as used. */
#define CLI_ARENA_BYTES (64UL << 30)

int cli_parse_device(const char *s, struct cli_dev_spec *spec)
{
	if (!strcmp(s, "zram")) {
		spec->kind = CLI_DEV_ZRAM;
		spec->path = NULL;
		return 0;
	}
	if (!strncmp(s, "file:", 5) && s[5]) {
		spec->kind = CLI_DEV_FILE;
		spec->path = s + 5;
		return 0;
	}
	return -EINVAL;
}

int cli_parse_comp(const char *s, struct cli_dev_spec *spec)
{
	if (!strcmp(s, "lz4"))
		spec->algo = ZRAM_LZ4;
	else if (!strcmp(s, "zstd"))
		spec->algo = ZRAM_ZSTD;
	else
		return -EINVAL;
	return 0;
}

const char *cli_comp_name(int algo)
{
	return algo == ZRAM_ZSTD ? "zstd" : "lz4";
}

int cli_engine_create(struct uswap **out)
{
	return swap_engine_create(out, CLI_ARENA_BYTES, false);
}

/* swapon(8)'s warning: the kernel itself takes any mode. */
static void warn_permissions(const char *path)
{
	struct stat st;
	unsigned mask;

	if (stat(path, &st) < 0)
		return;
	mask = S_ISBLK(st.st_mode) ? 07007 : 07077;
	if (st.st_mode & mask)
		cli_warn("%s: insecure permissions %04o, %04o suggested", path,
			 (unsigned)(st.st_mode & 07777), S_ISBLK(st.st_mode) ? 0660U : 0600U);
}

int cli_swapon(struct uswap *sw, const struct cli_dev_spec *spec, char *err, size_t errlen)
{
	struct zram_config cfg = {0};
	struct swap_dev *dev;
	int ret;

	if (spec->kind == CLI_DEV_FILE) {
		ret = swapfile_open_flags(&dev, sw->arena, spec->path,
					  spec->readonly ? SWAPFILE_OPEN_READONLY : 0, err, errlen);
		if (ret)
			return ret;
		warn_permissions(spec->path);
	} else {
		cfg.algo = (enum zram_algo)spec->algo;
		cfg.mem_limit = spec->zram_limit;
		ret = zram_create(&dev, sw->arena, spec->zram_bytes / PAGE_SIZE, &cfg);
		if (ret) {
			snprintf(err, errlen, "cannot create a %s zram device of %llu pages: %s",
				 cli_comp_name(spec->algo),
				 (unsigned long long)(spec->zram_bytes / PAGE_SIZE),
				 strerror(-ret));
			return ret;
		}
	}
	ret = swapon(sw, dev, -1);
	if (ret < 0) {
		const char *name = spec->path ? spec->path : "zram";
		size_t len = strlen(name);

		/* A long path keeps its end and the reason. */
		snprintf(err, errlen, "swapon %s%s: %s", len > 160 ? "..." : "",
			 len > 160 ? name + len - 160 : name, strerror(-ret));
	}
	return ret;
}

int cli_swapoff_all(struct uswap *sw)
{
	int first = 0;

	for (unsigned type = 0; type < MAX_SWAPFILES; type++) {
		struct swap_info_struct *si = sw->swap_info[type];
		int ret;

		if (!si || !(atomic_load_relaxed(&si->flags) & SWP_USED))
			continue;
		ret = swapoff_begin(sw, type);
		if (!ret)
			ret = swapoff_finish(sw, type);
		if (ret && !first)
			first = ret;
	}
	return first;
}
