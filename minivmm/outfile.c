/* SPDX-License-Identifier: MIT */
/* outfile.c - see outfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "util.h"

/*
 * The temporary file's name keeps at most this much of the target's name,
 * so that ".NAME.XXXXXX" stays within NAME_MAX however long NAME is.
 */
#define TMP_NAME_KEEP 200

int outfile_init(struct outfile *f, const char *path, char *err,
		 size_t errlen)
{
	const char *slash, *name;
	char *dir = NULL;
	int ret = 0;

	f->fd = -1;
	f->dir_fd = -1;
	f->path = NULL;
	f->tmp = NULL;
	if (!path || !*path) {
		util_errf(err, errlen, "no file name given");
		return -EINVAL;
	}

	slash = strrchr(path, '/');
	name = slash ? slash + 1 : path;
	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	f->path = strdup(path);
	if (dir && f->path &&
	    asprintf(&f->tmp, "%s/.%.*s.XXXXXX", dir, TMP_NAME_KEEP, name) < 0)
		f->tmp = NULL;
	if (!f->tmp) {
		ret = -ENOMEM;
		util_errf(err, errlen, "%s: out of memory", path);
		goto err_free;
	}

	/* Opened first, so that a missing directory is reported as such. */
	f->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dir_fd < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: cannot open its directory %s: %s",
			path, dir, strerror(-ret));
		goto err_free;
	}

	/* mkostemp() opens with O_CREAT | O_EXCL and mode 0600. */
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		ret = -errno;
		util_errf(err, errlen,
			"%s: cannot create a temporary file in %s: %s", path,
			dir, strerror(-ret));
		goto err_close_dir;
	}
	/* The umask may have taken bits away; 0600 exactly, never more. */
	if (fchmod(f->fd, 0600) < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: cannot set the mode of %s: %s", path,
			f->tmp, strerror(-ret));
		goto err_unlink;
	}
	free(dir);
	return 0;

err_unlink:
	unlink(f->tmp);
	close(f->fd);
	f->fd = -1;
err_close_dir:
	close(f->dir_fd);
	f->dir_fd = -1;
err_free:
	free(f->tmp);
	free(f->path);
	free(dir);
	f->tmp = NULL;
	f->path = NULL;
	return ret;
}

int outfile_commit(struct outfile *f, char *err, size_t errlen)
{
	int ret = 0, fd = f->fd;

	if (fd < 0 || !f->tmp) {
		util_errf(err, errlen, "%s: already committed",
			f->path ? f->path : "(none)");
		return -EINVAL;
	}
	/*
	 * Data first: after a crash, the name must never point at a file
	 * whose blocks did not reach the disk.
	 */
	if (fsync(fd) < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: cannot write: %s", f->path,
			strerror(-ret));
		return ret;
	}
	/* close() can report a deferred write error (NFS); take it. */
	f->fd = -1;
	if (close(fd) < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: cannot write: %s", f->path,
			strerror(-ret));
		return ret;
	}
	if (rename(f->tmp, f->path) < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: cannot replace it: %s", f->path,
			strerror(-ret));
		return ret;
	}
	free(f->tmp);
	f->tmp = NULL;
	/* The rename lives in the directory: flush that too. */
	if (fsync(f->dir_fd) < 0 && errno != EINVAL) {
		ret = -errno;
		util_errf(err, errlen,
			"%s: written, but syncing its directory failed: %s",
			f->path, strerror(-ret));
		return ret;
	}
	return 0;
}

void outfile_fini(struct outfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	if (f->dir_fd >= 0)
		close(f->dir_fd);
	free(f->tmp);
	free(f->path);
	f->fd = -1;
	f->dir_fd = -1;
	f->tmp = NULL;
	f->path = NULL;
}
