/* SPDX-License-Identifier: MIT */
/*
 * memfile.h - the snapshot memory file: guest RAM, region by region in
 * guest-physical order. Region i starts at the file offset that is the sum
 * of the lengths of regions 0 .. i-1, so the file's size is the total RAM
 * size and the gaps between regions take no room. Every region is a whole
 * number of 4 KiB pages, so every region starts page-aligned in the file
 * and can be mapped from it at restore.
 *
 * Two kinds, as in Firecracker:
 *
 *   Full  all of guest memory. Pages that are all zero are holes (the
 *         file is sparse), so the disk space used is about the memory the
 *         guest touched.
 *   Diff  only the pages marked dirty since the previous snapshot; the
 *         rest are holes. A dirty page is written even when it is zero, as
 *         data, so that memfile_merge() copies it over the base.
 *
 * A Diff applied to the Full (or merged) file it follows, with
 * memfile_merge(), gives the Full file of the later memory. This relies on
 * a file system that reports holes (SEEK_DATA and SEEK_HOLE: ext4, xfs,
 * btrfs, tmpfs) and allocates in blocks of at most 4 KiB.
 *
 * Messages: functions taking err and errlen put one line there on failure,
 * starting with a file's path and without a trailing newline. err may be
 * NULL.
 */
#ifndef MINIVMM_MEMFILE_H
#define MINIVMM_MEMFILE_H

#include <stddef.h>
#include <stdint.h>

struct vmmem;

enum memfile_kind {
	MEMFILE_FULL = 1,
	MEMFILE_DIFF = 2,
};

/**
 * memfile_size() - the size of the memory file of a set.
 * @mem: the guest memory.
 * @size: receives the sum of its regions' lengths.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL argument; -EFBIG when the sum does not fit a
 * file offset (off_t).
 */
int memfile_size(const struct vmmem *mem, uint64_t *size);

/**
 * memfile_write() - save guest memory to a memory file.
 * @mem: the guest memory. Nothing may write to it during the call (pause
 *       the vCPUs); for a Diff, KVM's dirty logs must have been merged into
 *       the regions' bitmaps first (vmmem_region_dirty_merge()).
 * @kind: MEMFILE_FULL or MEMFILE_DIFF.
 * @path: where the file goes; its directory must exist, an existing file
 *        there is replaced.
 * @err: receives one line on failure (see the top of this file).
 * @errlen: size of @err.
 *
 * The dirty bitmaps of the regions that have one (VMMEM_REGION_DIRTY_LOG)
 * are harvested and reset, by a Full snapshot as well: the next Diff holds
 * the pages written after this snapshot. If the call fails, the harvested
 * bits are merged back, so a later Diff still covers them.
 *
 * Memory is read through libvmmem's range API (vmmem_get_ptr() to find
 * zero pages, vmmem_write_to_fd() to write): host pointers are used only
 * for the range they were obtained for. A region without a host mapping is
 * written whole, without looking for zero pages.
 *
 * The file is written like the state file: to a temporary file in the
 * same directory (O_EXCL, mode 0600), flushed, renamed onto @path, with
 * the directory flushed (outfile.h). On failure the temporary file is
 * removed and an existing file at @path is untouched, except when only the
 * final directory fsync fails.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL mem or path, an unknown kind, or a region
 * whose length is not a multiple of 4 KiB; -ENOTSUP for a Diff when a
 * region has no dirty bitmap ("diff snapshots need dirty page tracking");
 * -EFBIG as memfile_size(); -ENOMEM; the negative errno of the file
 * operations (-ENOENT, -EACCES, -EISDIR, -ENOSPC, -EIO, ...) and of
 * vmmem_write_to_fd().
 */
int memfile_write(struct vmmem *mem, enum memfile_kind kind, const char *path,
		  char *err, size_t errlen);

/**
 * memfile_merge() - apply a Diff memory file to a base, in place.
 * @base: the Full (or already merged) memory file the Diff follows; it is
 *        rewritten in place.
 * @diff: the Diff memory file; not changed.
 * @err: receives one line on failure (see the top of this file).
 * @errlen: size of @err.
 *
 * Every data extent of @diff (found with SEEK_DATA and SEEK_HOLE) is copied
 * to the same offset of @base, then @base is flushed to disk (fsync). This
 * is what Firecracker's rebase-snap does. In place means that a merge that
 * fails or is interrupted leaves @base partly updated: the base is then
 * neither the old nor the new memory, but running the same merge again
 * completes it, since copying the same extents twice changes nothing. Keep
 * a copy of the base if it must survive a failure.
 *
 * Both files must be regular files of the same size, and not the same file.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL argument, a file that is not a regular file,
 * files of different sizes, or the same file twice; the negative errno of
 * open(2) (-ENOENT, -EACCES, ...), lseek(2), pread(2), pwrite(2) and
 * fsync(2) (-ENOSPC, -EIO, ...); -EIO when the diff shrinks meanwhile;
 * -ENOMEM.
 */
int memfile_merge(const char *base, const char *diff, char *err,
		  size_t errlen);

#endif /* MINIVMM_MEMFILE_H */
