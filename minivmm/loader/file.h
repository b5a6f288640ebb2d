/* SPDX-License-Identifier: MIT */
/*
 * loader/file.h - reading a kernel, image or initrd file whole, with the
 * size checked before anything is allocated.
 */
#ifndef MINIVMM_LOADER_FILE_H
#define MINIVMM_LOADER_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read the regular file at path into a new buffer (*buf, to free()) of
 * *size bytes. A file larger than max bytes cannot fit where it goes: it is
 * refused before anything is allocated. Every failure prints one line
 * naming the file.
 * Return: 0, or the errno of open(2), fstat(2) or read(2); -EINVAL when
 * path is not a regular file; -E2BIG when it is larger than max; -EIO when
 * it shrinks while read; -ENOMEM.
 */
int loader_read_file(const char *path, uint64_t max, uint8_t **buf,
		     size_t *size);

#endif /* MINIVMM_LOADER_FILE_H */
