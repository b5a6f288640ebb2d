/* SPDX-License-Identifier: MIT */
/* loader/file.c - see file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util.h"
#include "file.h"

int loader_read_file(const char *path, uint64_t max, uint8_t **buf,
		     size_t *size)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0, len;
	int fd, rc;

	/* O_NONBLOCK: a FIFO must be refused below, not block the open
	 * (and with it set-up, the timeout and the signals). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		pr_err("%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		pr_err("%s: %s", path, strerror(-rc));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("%s: not a regular file", path);
		rc = -EINVAL;
		goto err_close;
	}
	if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX) {
		pr_err("%s: %lld bytes do not fit in the %llu bytes of guest "
		       "memory it may use (try a larger --memory)",
		       path, (long long)st.st_size, (unsigned long long)max);
		rc = -E2BIG;
		goto err_close;
	}
	len = (size_t)st.st_size;
	b = malloc(len ? len : 1);
	if (!b) {
		rc = -ENOMEM;
		pr_err("%s: out of memory for %zu bytes", path, len);
		goto err_close;
	}
	while (got < len) {
		ssize_t n = read(fd, b + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			pr_err("%s: read error: %s", path,
			       n < 0 ? strerror(-rc) : "file shrank");
			goto err_free;
		}
		got += (size_t)n;
	}
	close(fd);
	*buf = b;
	*size = len;
	return 0;

err_free:
	free(b);
err_close:
	close(fd);
	return rc;
}
