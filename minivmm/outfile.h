/* SPDX-License-Identifier: MIT */
/*
 * outfile.h - writing a file that appears under its name complete or not
 * at all.
 *
 * The contents go to a new temporary file in the same directory as the
 * target (created with O_EXCL and mode 0600: saved VM state is as secret as
 * the guest's memory). outfile_commit() flushes it to disk, renames it onto
 * the target and flushes the directory, so that a reader of the target
 * sees either the old file or the whole new one, also after a crash.
 * Anything that goes wrong before the rename removes the temporary file and
 * leaves an existing file at the target untouched.
 *
 *	struct outfile f;
 *
 *	rc = outfile_init(&f, path, err, errlen);
 *	if (rc)
 *		return rc;
 *	rc = write_everything(f.fd);
 *	if (!rc)
 *		rc = outfile_commit(&f, err, errlen);
 *	outfile_fini(&f);	  (removes the temporary file unless committed)
 */
#ifndef MINIVMM_OUTFILE_H
#define MINIVMM_OUTFILE_H

#include <stddef.h>

struct outfile {
	int fd;		/* read-only: the temporary file, open for writing */
	int dir_fd;	/* private: its directory, for the final fsync */
	char *path;	/* private: the target */
	char *tmp;	/* private: the temporary file; NULL once renamed */
};

/**
 * outfile_init() - create the temporary file that will become @path.
 * @f: the caller's struct, filled in.
 * @path: the target; its directory must exist. The target itself is not
 *        looked at until outfile_commit().
 * @err: receives a one-line message starting with @path on failure (no
 *       trailing newline); may be NULL.
 * @errlen: size of @err.
 *
 * The temporary file is "DIR/.NAME.XXXXXX" (mkostemp(3): O_CREAT | O_EXCL,
 * a fresh name), set to mode 0600 whatever the umask, and open read-write
 * at offset 0 in f->fd (close-on-exec).
 *
 * Return: 0 on success; then call outfile_fini() in every case. On failure
 * nothing is left to free and outfile_fini() is a harmless no-op.
 * Errors: -EINVAL for a NULL or empty path; -ENOMEM; the negative errno of
 * open(2) on the directory (-ENOENT, -ENOTDIR, -EACCES, ...), mkostemp(3)
 * and fchmod(2).
 */
int outfile_init(struct outfile *f, const char *path, char *err,
		 size_t errlen);

/**
 * outfile_commit() - make the written contents appear under the target.
 * @f: an initialised outfile whose contents are complete.
 * @err: receives a one-line message starting with the target's path on
 *       failure; may be NULL.
 * @errlen: size of @err.
 *
 * fsync(2)s and closes the temporary file, renames it onto the target
 * (replacing an existing file atomically), then fsync(2)s the directory so
 * that the rename survives a crash. File systems that cannot fsync a
 * directory (EINVAL) are accepted.
 *
 * Return: 0 on success.
 * Errors: the negative errno of fsync(2) or close(2) on the file (-EIO,
 * -ENOSPC, ...) or of rename(2) (-EISDIR when the target is a directory,
 * ...): the temporary file is removed by outfile_fini() and the target is
 * untouched. The negative errno of the directory's fsync(2): the new file
 * is then in place already (a rename cannot be undone), but it may not
 * survive a crash. -EINVAL when called twice.
 */
int outfile_commit(struct outfile *f, char *err, size_t errlen);

/**
 * outfile_fini() - release an outfile.
 * @f: the outfile; also after a failed outfile_init() or outfile_commit().
 *
 * Closes the files and, unless outfile_commit() renamed it, removes the
 * temporary file.
 */
void outfile_fini(struct outfile *f);

#endif /* MINIVMM_OUTFILE_H */
