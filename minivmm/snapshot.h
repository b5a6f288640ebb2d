/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h - the snapshot state file: the machine's shape, KVM's VM and
 * vCPU state and every device's state, as typed sections in one file. Guest
 * memory goes to a separate file (memfile.h).
 *
 * Layout, all integers little-endian:
 *
 *	header   magic "MVMSNAP\0" (8 bytes)
 *	         u32 format version (SNAP_VERSION)
 *	         u32 flags (0; a reader refuses bits it does not know)
 *	         u64 payload length: the bytes of all sections
 *	section  u32 type, u32 id, u64 len, len bytes     (repeated)
 *	trailer  u32 CRC-32 of everything before it (zlib's crc32())
 *
 * A (type, id) pair appears at most once; sections keep the order in which
 * they were added. A file has at most SNAP_MAX_SECTIONS sections and
 * SNAP_MAX_SIZE bytes. What a section holds is its owner's business; the
 * helpers of state.h encode it.
 *
 * Writing:
 *
 *	struct snap_writer w;
 *
 *	snap_writer_init(&w);
 *	rc = snap_writer_add(&w, SNAP_SEC_MACHINE, 0, shape.data, shape.len);
 *	...
 *	if (!rc)
 *		rc = snap_writer_commit(&w, path, err, sizeof(err));
 *	snap_writer_fini(&w);
 *
 * Reading: snap_read() loads and checks the whole file, then snap_find()
 * and snap_next() hand out sections; feed one to state_rd_init().
 *
 * Messages: functions taking err and errlen put one line there on failure,
 * starting with the file's path and without a trailing newline, fit to be
 * printed or returned to an API client as is. err may be NULL.
 */
#ifndef MINIVMM_SNAPSHOT_H
#define MINIVMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* The format this code writes and the only one it reads. */
#define SNAP_VERSION 1u

/* At most this many sections in a file. */
#define SNAP_MAX_SECTIONS 4096u

/* At most this many bytes in a file, header and trailer included. */
#define SNAP_MAX_SIZE (64u << 20)

/* Section types. */
enum {
	SNAP_SEC_MACHINE = 1,	/* the machine's shape; id 0 */
	SNAP_SEC_VM = 2,	/* VM-wide KVM state; id 0 */
	SNAP_SEC_VCPU = 3,	/* one vCPU; id = its index */
	SNAP_SEC_DEVICE = 4,	/* one device; id = its index */
};

struct snap_writer {
	struct state_buf buf;	/* private: the encoded sections */
	uint64_t *keys;		/* private: type << 32 | id of each section */
	size_t cap;		/* private: room in keys */
	size_t count;		/* read-only: sections added */
};

struct snap_section {
	uint32_t type;
	uint32_t id;
	const uint8_t *data;	/* inside the snap_file; len bytes */
	size_t len;
};

struct snap_file {
	struct snap_section *sections;	/* read-only: in file order */
	size_t count;			/* read-only */
	uint8_t *buf;			/* private: the whole file */
};

/**
 * snap_writer_init() - an empty writer.
 * @w: the caller's struct.
 *
 * Release it with snap_writer_fini(), committed or not.
 */
void snap_writer_init(struct snap_writer *w);

/**
 * snap_writer_fini() - free what a writer holds.
 * @w: the writer; may be NULL.
 */
void snap_writer_fini(struct snap_writer *w);

/**
 * snap_writer_add() - append a section.
 * @w: the writer.
 * @type: SNAP_SEC_* (any value is stored as is).
 * @id: its index among sections of that type.
 * @data: the bytes, copied; may be NULL when len is 0.
 * @len: their number; 0 gives an empty section.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL w, or a NULL data with len > 0; -EEXIST when
 * the writer has a section with this type and id already; -E2BIG when it
 * has SNAP_MAX_SECTIONS; -EFBIG when the file would grow past
 * SNAP_MAX_SIZE. These leave the writer as it was. -ENOMEM, after which
 * the writer stays failed: every later add and the commit return -ENOMEM.
 */
int snap_writer_add(struct snap_writer *w, uint32_t type, uint32_t id,
		    const void *data, size_t len);

/**
 * snap_writer_commit() - write the state file.
 * @w: the writer; it is not changed, so a failed commit can be retried.
 * @path: where the file goes. Its directory must exist; an existing file
 *        there is replaced.
 * @err: receives one line on failure (see the top of this file).
 * @errlen: size of @err.
 *
 * The file is written to a temporary file in the same directory (created
 * with O_EXCL, mode 0600), flushed to disk and renamed onto @path, then the
 * directory is flushed: see outfile.h. On failure the temporary file is
 * removed and an existing file at @path is untouched, except when only the
 * final directory fsync fails (the file is then in place already).
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL w or path; -ENOMEM (also after a failed add);
 * the negative errno of the file operations: -ENOENT or -ENOTDIR when the
 * directory does not exist, -EACCES, -EISDIR when @path is a directory,
 * -ENOSPC, -EFBIG, -EIO, ...
 */
int snap_writer_commit(const struct snap_writer *w, const char *path,
		       char *err, size_t errlen);

/*
 * The state file's bytes (header, sections, checksum) appended to out,
 * for a caller that sends them elsewhere than a file (a migration).
 * Return: 0, or -ENOMEM (out->err, or the writer's own).
 */
int snap_writer_encode(const struct snap_writer *w, struct state_buf *out);

/*
 * snap_read() on bytes already in memory: buf (from malloc(), size bytes)
 * becomes the file's and is freed by snap_file_fini(), or at once on
 * failure. name is what messages call it. Errors: those of snap_read()
 * after the file has been read.
 */
int snap_parse(const char *name, uint8_t *buf, size_t size,
	       struct snap_file *out, char *err, size_t errlen);

/**
 * snap_read() - load and check a state file.
 * @path: the file.
 * @out: filled in on success; emptied (count 0) on failure, so that
 *       snap_file_fini() is always safe.
 * @err: receives one line on failure (see the top of this file).
 * @errlen: size of @err.
 *
 * Everything is checked before the call returns: the size, magic, version,
 * flags, checksum and every section's bounds. The sections' contents are
 * not: they come from a file, so their owners validate each value.
 *
 * Return: 0 on success.
 * Errors, one per problem:
 *   -EINVAL     NULL path or out, or @path is not a regular file;
 *   the negative errno of open(2), e.g. -ENOENT (no such file), -EACCES;
 *   -EFBIG      larger than SNAP_MAX_SIZE;
 *   -ENOEXEC    not a minivmm snapshot (wrong magic);
 *   -EPROTO     another format version, or flags this code does not know;
 *   -ENODATA    truncated: shorter than the header, or than the payload
 *               length and trailer the header announces;
 *   -EMSGSIZE   data after the trailer;
 *   -EBADMSG    checksum mismatch;
 *   -EOVERFLOW  a section header or section running past the payload;
 *   -E2BIG      more than SNAP_MAX_SECTIONS sections;
 *   -EEXIST     two sections with the same type and id;
 *   -EIO        the file shrank while it was read, or read(2) failed;
 *   -ENOMEM.
 */
int snap_read(const char *path, struct snap_file *out, char *err,
	      size_t errlen);

/**
 * snap_file_fini() - free a file loaded by snap_read().
 * @f: the file; may be NULL. Its sections are invalid afterwards.
 */
void snap_file_fini(struct snap_file *f);

/**
 * snap_find() - the section with a type and id.
 * @f: a loaded file.
 * @type: SNAP_SEC_*.
 * @id: the index.
 *
 * Return: the section, borrowed from @f, or NULL when there is none.
 */
const struct snap_section *snap_find(const struct snap_file *f, uint32_t type,
				     uint32_t id);

/**
 * snap_next() - iterate over the sections of one type, in file order.
 * @f: a loaded file.
 * @type: SNAP_SEC_*.
 * @prev: the previous section returned, or NULL for the first.
 *
 *	for (s = snap_next(f, SNAP_SEC_VCPU, NULL); s;
 *	     s = snap_next(f, SNAP_SEC_VCPU, s))
 *		restore_vcpu(s->id, s->data, s->len);
 *
 * All sections, whatever their type, are f->sections[0 .. f->count).
 *
 * Return: the next section of that type after @prev, borrowed from @f, or
 * NULL when there is none.
 */
const struct snap_section *snap_next(const struct snap_file *f, uint32_t type,
				     const struct snap_section *prev);

#endif /* MINIVMM_SNAPSHOT_H */
