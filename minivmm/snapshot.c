/* SPDX-License-Identifier: MIT */
/* snapshot.c - the snapshot state file; see snapshot.h for the layout. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The checksum is zlib's crc32() (the CRC-32 of zip, gzip and PNG): a
 * well-tested implementation, and any tool can check a file with it.
 */
#include <zlib.h>

#include "outfile.h"
#include "snapshot.h"
#include "util.h"

#define MAGIC "MVMSNAP\0"
#define MAGIC_LEN 8
#define HEADER_LEN 24		/* magic, version, flags, payload length */
#define SECTION_HEADER_LEN 16	/* type, id, len */
#define TRAILER_LEN 4		/* CRC-32 */

/* Flags a reader understands: none so far. */
#define KNOWN_FLAGS 0u

static uint64_t section_key(uint32_t type, uint32_t id)
{
	return (uint64_t)type << 32 | id;
}

/*
 * The CRC over a buffer of at most SNAP_MAX_SIZE bytes, which fits the
 * 32-bit length zlib's crc32() takes. An empty buffer may be NULL, which
 * crc32() would take as a request for the initial value.
 */
static uint32_t crc_update(uint32_t crc, const void *p, size_t len)
{
	if (!len)
		return crc;
	return (uint32_t)crc32(crc, p, (uInt)len);
}

void snap_writer_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
	state_buf_init(&w->buf);
}

void snap_writer_fini(struct snap_writer *w)
{
	if (!w)
		return;
	state_buf_fini(&w->buf);
	free(w->keys);
	memset(w, 0, sizeof(*w));
}

int snap_writer_add(struct snap_writer *w, uint32_t type, uint32_t id,
		    const void *data, size_t len)
{
	uint64_t key = section_key(type, id);
	size_t i, room;

	if (!w || (!data && len))
		return -EINVAL;
	if (w->buf.err)
		return w->buf.err;
	for (i = 0; i < w->count; i++)
		if (w->keys[i] == key)
			return -EEXIST;
	if (w->count >= SNAP_MAX_SECTIONS)
		return -E2BIG;
	/* w->buf.len stays below SNAP_MAX_SIZE, so this cannot wrap. */
	room = SNAP_MAX_SIZE - HEADER_LEN - TRAILER_LEN - w->buf.len;
	if (room < SECTION_HEADER_LEN || len > room - SECTION_HEADER_LEN)
		return -EFBIG;

	if (w->count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		uint64_t *keys = realloc(w->keys, cap * sizeof(*keys));

		if (!keys) {
			/* Sticky, like the buffer's own -ENOMEM. */
			w->buf.err = -ENOMEM;
			return -ENOMEM;
		}
		w->keys = keys;
		w->cap = cap;
	}
	state_put_u32(&w->buf, type);
	state_put_u32(&w->buf, id);
	state_put_u64(&w->buf, len);
	state_put(&w->buf, data, len);
	if (w->buf.err)
		return w->buf.err;
	w->keys[w->count++] = key;
	return 0;
}

/* write(2) all of p, going on after short counts and EINTR. */
static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int snap_writer_encode(const struct snap_writer *w, struct state_buf *out)
{
	uint32_t crc;
	size_t start = out->len;

	if (w->buf.err)
		return w->buf.err;
	state_put(out, MAGIC, MAGIC_LEN);
	state_put_u32(out, SNAP_VERSION);
	state_put_u32(out, 0);
	state_put_u64(out, w->buf.len);
	state_put(out, w->buf.data, w->buf.len);
	if (out->err)
		return out->err;
	crc = crc_update(crc32(0, NULL, 0), out->data + start,
			 out->len - start);
	state_put_u32(out, crc);
	return out->err;
}

int snap_writer_commit(const struct snap_writer *w, const char *path,
		       char *err, size_t errlen)
{
	struct state_buf file;
	struct outfile f;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!w || !path) {
		util_errf(err, errlen, "snapshot: invalid arguments");
		return -EINVAL;
	}
	state_buf_init(&file);
	ret = snap_writer_encode(w, &file);
	if (ret) {
		util_errf(err, errlen, "%s: out of memory while building it",
			  path);
		goto out_buf;
	}
	ret = outfile_init(&f, path, err, errlen);
	if (ret)
		goto out_buf;
	ret = write_all(f.fd, file.data, file.len);
	if (ret) {
		util_errf(err, errlen, "%s: cannot write: %s", path,
			  strerror(-ret));
		goto out_file;
	}
	ret = outfile_commit(&f, err, errlen);

out_file:
	outfile_fini(&f);
out_buf:
	state_buf_fini(&file);
	return ret;
}

/* Read the whole regular file at path into *buf (to free) of *size bytes. */
static int load(const char *path, uint8_t **buf, size_t *size, char *err,
		size_t errlen)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t len, got = 0;
	int fd, ret = 0;

	/* O_NONBLOCK: a FIFO must be refused below, not block the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: %s", path, strerror(-ret));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		util_errf(err, errlen, "%s: not a regular file", path);
		goto out_close;
	}
	if ((uint64_t)st.st_size > SNAP_MAX_SIZE) {
		ret = -EFBIG;
		util_errf(err, errlen,
			"%s: %lld bytes, more than the %u MiB a snapshot state "
			"file may have",
			path, (long long)st.st_size, SNAP_MAX_SIZE >> 20);
		goto out_close;
	}
	len = (size_t)st.st_size;
	b = malloc(len ? len : 1);
	if (!b) {
		ret = -ENOMEM;
		util_errf(err, errlen, "%s: out of memory for %zu bytes", path,
			len);
		goto out_close;
	}
	while (got < len) {
		ssize_t n = read(fd, b + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			util_errf(err, errlen, "%s: read error: %s", path,
				n < 0 ? strerror(-ret) :
					"the file shrank while it was read");
			free(b);
			goto out_close;
		}
		got += (size_t)n;
	}
	*buf = b;
	*size = len;

out_close:
	close(fd);
	return ret;
}

static int compare_keys(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Whether two sections share a (type, id): 1 with that key in *dup, 0 when
 * all differ, or -ENOMEM. Sorting a copy of the keys keeps this
 * O(n log n) for 4096 sections.
 */
static int find_duplicate(const struct snap_section *s, size_t n,
			  uint64_t *dup)
{
	uint64_t *keys;
	size_t i;

	if (n < 2)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = section_key(s[i].type, s[i].id);
	qsort(keys, n, sizeof(*keys), compare_keys);
	for (i = 1; i < n; i++) {
		if (keys[i] == keys[i - 1]) {
			*dup = keys[i];
			free(keys);
			return 1;
		}
	}
	free(keys);
	return 0;
}

/*
 * Check the header, size and checksum of the file in buf[0, size), and
 * return the payload length.
 */
static int check_frame(const char *path, const uint8_t *buf, size_t size,
		       uint64_t *payload_len, char *err, size_t errlen)
{
	struct state_rd r;
	uint8_t magic[MAGIC_LEN];
	uint32_t version, flags, crc, want;
	uint64_t plen, expected;

	/* A short file that starts like a snapshot is a truncated one. */
	if (memcmp(buf, MAGIC, size < MAGIC_LEN ? size : MAGIC_LEN)) {
		util_errf(err, errlen, "%s: not a minivmm snapshot", path);
		return -ENOEXEC;
	}
	state_rd_init(&r, buf, size);
	state_get(&r, magic, MAGIC_LEN);
	version = state_get_u32(&r);
	/*
	 * The version comes first: another version may have another header,
	 * so nothing after it means anything until it is known.
	 */
	if (!r.err && version != SNAP_VERSION) {
		util_errf(err, errlen,
			"%s: snapshot format version %u, this minivmm reads %u",
			path, version, SNAP_VERSION);
		return -EPROTO;
	}
	if (size < HEADER_LEN) {
		util_errf(err, errlen,
			"%s: truncated (%zu bytes, shorter than the %d-byte "
			"header)",
			path, size, HEADER_LEN);
		return -ENODATA;
	}
	flags = state_get_u32(&r);
	plen = state_get_u64(&r);
	if (flags & ~KNOWN_FLAGS) {
		util_errf(err, errlen,
			"%s: snapshot flags 0x%x unknown to this minivmm", path,
			flags & ~KNOWN_FLAGS);
		return -EPROTO;
	}

	/* size <= SNAP_MAX_SIZE, so only plen can be out of range. */
	expected = plen <= SNAP_MAX_SIZE ? HEADER_LEN + plen + TRAILER_LEN :
					   UINT64_MAX;
	if (size < expected) {
		if (expected == UINT64_MAX)
			util_errf(err, errlen,
				"%s: truncated (%zu bytes, its header "
				"announces %llu bytes of sections)",
				path, size, (unsigned long long)plen);
		else
			util_errf(err, errlen,
				"%s: truncated (%zu bytes, its header "
				"announces %llu)",
				path, size, (unsigned long long)expected);
		return -ENODATA;
	}
	if (size > expected) {
		util_errf(err, errlen,
			"%s: %llu bytes of unexpected data after the snapshot",
			path, (unsigned long long)(size - expected));
		return -EMSGSIZE;
	}

	memcpy(&want, buf + size - TRAILER_LEN, sizeof(want));
	want = le32toh(want);
	crc = crc_update(crc32(0, NULL, 0), buf, size - TRAILER_LEN);
	if (crc != want) {
		util_errf(err, errlen, "%s: corrupt (checksum mismatch)", path);
		return -EBADMSG;
	}
	*payload_len = plen;
	return 0;
}

/* Split the payload into out->sections, checking every bound. */
static int parse_sections(const char *path, const uint8_t *payload,
			  size_t plen, struct snap_file *out, char *err,
			  size_t errlen)
{
	struct snap_section *sec;
	size_t max, n = 0, off = 0;
	uint64_t dup;
	int rc;

	/* Each section takes at least its header: a bound on the count. */
	max = plen / SECTION_HEADER_LEN;
	if (max > SNAP_MAX_SECTIONS)
		max = SNAP_MAX_SECTIONS;
	sec = calloc(max ? max : 1, sizeof(*sec));
	if (!sec) {
		util_errf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}

	while (off < plen) {
		struct state_rd r;
		uint64_t len;

		if (plen - off < SECTION_HEADER_LEN) {
			util_errf(err, errlen,
				"%s: corrupt (section %zu at payload offset "
				"%zu: its header runs past the end)",
				path, n, off);
			rc = -EOVERFLOW;
			goto err_free;
		}
		/*
		 * A whole header remains, so n < plen / SECTION_HEADER_LEN:
		 * only the cap on the count can stop us here.
		 */
		if (n == max) {
			util_errf(err, errlen,
				"%s: corrupt (more than %u sections)", path,
				SNAP_MAX_SECTIONS);
			rc = -E2BIG;
			goto err_free;
		}
		state_rd_init(&r, payload + off, SECTION_HEADER_LEN);
		sec[n].type = state_get_u32(&r);
		sec[n].id = state_get_u32(&r);
		len = state_get_u64(&r);
		off += SECTION_HEADER_LEN;
		if (len > plen - off) {
			util_errf(err, errlen,
				"%s: corrupt (section %zu, type %u id %u: its "
				"%llu bytes run past the end)",
				path, n, sec[n].type, sec[n].id,
				(unsigned long long)len);
			rc = -EOVERFLOW;
			goto err_free;
		}
		sec[n].data = payload + off;
		sec[n].len = (size_t)len;
		off += (size_t)len;
		n++;
	}

	rc = find_duplicate(sec, n, &dup);
	if (rc < 0) {
		util_errf(err, errlen, "%s: out of memory", path);
		goto err_free;
	}
	if (rc) {
		util_errf(err, errlen,
			"%s: corrupt (two sections with type %u id %u)", path,
			(uint32_t)(dup >> 32), (uint32_t)dup);
		rc = -EEXIST;
		goto err_free;
	}
	out->sections = sec;
	out->count = n;
	return 0;

err_free:
	free(sec);
	return rc;
}

int snap_read(const char *path, struct snap_file *out, char *err,
	      size_t errlen)
{
	uint8_t *buf = NULL;
	size_t size = 0;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (out)
		memset(out, 0, sizeof(*out));
	if (!path || !out) {
		util_errf(err, errlen, "snapshot: invalid arguments");
		return -EINVAL;
	}
	ret = load(path, &buf, &size, err, errlen);
	if (ret)
		return ret;
	return snap_parse(path, buf, size, out, err, errlen);
}

int snap_parse(const char *name, uint8_t *buf, size_t size,
	       struct snap_file *out, char *err, size_t errlen)
{
	uint64_t plen;
	int ret;

	memset(out, 0, sizeof(*out));
	if (size > SNAP_MAX_SIZE) {
		util_errf(err, errlen, "%s: %zu bytes, more than the %u MiB a "
			  "snapshot state file may have", name, size,
			  SNAP_MAX_SIZE >> 20);
		ret = -EFBIG;
		goto err_free;
	}
	ret = check_frame(name, buf, size, &plen, err, errlen);
	if (ret)
		goto err_free;
	ret = parse_sections(name, buf + HEADER_LEN, (size_t)plen, out, err,
			     errlen);
	if (ret)
		goto err_free;
	out->buf = buf;
	return 0;

err_free:
	free(buf);
	return ret;
}

void snap_file_fini(struct snap_file *f)
{
	if (!f)
		return;
	free(f->sections);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

const struct snap_section *snap_find(const struct snap_file *f, uint32_t type,
				     uint32_t id)
{
	size_t i;

	for (i = 0; i < f->count; i++)
		if (f->sections[i].type == type && f->sections[i].id == id)
			return &f->sections[i];
	return NULL;
}

const struct snap_section *snap_next(const struct snap_file *f, uint32_t type,
				     const struct snap_section *prev)
{
	size_t i = prev ? (size_t)(prev - f->sections) + 1 : 0;

	for (; i < f->count; i++)
		if (f->sections[i].type == type)
			return &f->sections[i];
	return NULL;
}
