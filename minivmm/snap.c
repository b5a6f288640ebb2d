/* SPDX-License-Identifier: MIT */
/*
 * snap.c - a paused machine to a snapshot, and a snapshot to a new machine.
 *
 * A snapshot is two files. The state file (snapshot.c: versioned,
 * length-prefixed sections, checksummed) holds the machine's shape, then
 * KVM's VM-wide state, one section per vCPU and one per device, each
 * device's bytes its own (devices/device.h). The memory file (memfile.c)
 * holds guest RAM region after region, sparse; a Diff holds only the pages
 * written since the previous snapshot, which libvmmem's dirty bitmaps know
 * once KVM's dirty log is merged into them, so the VMM's own writes (used
 * rings, console input) count.
 *
 * A restore maps the memory file privately (libvmmem file regions with
 * VMMEM_REGION_PRIVATE): pages come in on first touch and writes stay in
 * the process, so restore time does not grow with guest size and several
 * processes may start from one snapshot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "lazy.h"
#include "machine.h"
#include "memfile.h"
#include "snapshot.h"
#include "state.h"
#include "util.h"

/* The machine section's layout version. */
#define SHAPE_VERSION 1

void snap_shape_put(struct machine *m, struct state_buf *b)
{
	size_t i, n = vmmem_region_count(m->mem);

	state_put_u32(b, SHAPE_VERSION);
	state_put_u32(b, (uint32_t)n);
	for (i = 0; i < n; i++) {
		struct vmmem_region *r = vmmem_region_at(m->mem, i);

		state_put_u64(b, vmmem_region_gpa(r));
		state_put_u64(b, vmmem_region_len(r));
	}
	state_put_u32(b, m->ncpus);
	state_put_u32(b, m->ndevs);
	for (i = 0; i < m->ndevs; i++) {
		size_t len = strlen(m->devs[i].name);

		state_put_u16(b, (uint16_t)len);
		state_put(b, m->devs[i].name, len);
	}
}

/* Read and check the shape: regions page-aligned, sorted, not
 * overlapping; counts within what this VMM builds. */
int snap_shape_parse(const void *data, size_t size,
		     struct machine_shape *sh)
{
	struct state_rd r;
	uint64_t end = 0;
	unsigned i, len;

	memset(sh, 0, sizeof(*sh));
	state_rd_init(&r, data, size);
	if (state_get_u32(&r) != SHAPE_VERSION)
		return -EBADMSG;
	sh->nregions = state_get_u32(&r);
	if (sh->nregions == 0 || sh->nregions > MACHINE_MAX_REGIONS)
		return -EBADMSG;
	for (i = 0; i < sh->nregions; i++) {
		sh->gpa[i] = state_get_u64(&r);
		sh->len[i] = state_get_u64(&r);
		if ((sh->gpa[i] | sh->len[i]) & 0xfff || !sh->len[i] ||
		    sh->gpa[i] < end ||
		    __builtin_add_overflow(sh->gpa[i], sh->len[i], &end))
			return -EBADMSG;
	}
	sh->ncpus = state_get_u32(&r);
	sh->ndevs = state_get_u32(&r);
	if (sh->ncpus == 0 || sh->ncpus > VMM_MAX_CPUS ||
	    sh->ndevs > MACHINE_MAX_DEVICES)
		return -EBADMSG;
	for (i = 0; i < sh->ndevs; i++) {
		len = state_get_u16(&r);
		if (len == 0 || len >= MACHINE_NAME_MAX)
			return -EBADMSG;
		state_get(&r, sh->dev[i], len);
	}
	return state_rd_end(&r);
}

uint64_t snap_shape_ram(const struct machine_shape *sh)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < sh->nregions; i++)
		n += sh->len[i];
	return n;
}

/* Append one section from a filled buffer, or the buffer's error. */
static int add_section(struct snap_writer *w, uint32_t type, uint32_t id,
		       struct state_buf *b, int rc)
{
	if (!rc)
		rc = b->err;
	if (!rc)
		rc = snap_writer_add(w, type, id, b->data, b->len);
	state_buf_fini(b);
	state_buf_init(b);
	return rc;
}

/* Every section of the state file, in memory. */
static int save_state(struct machine *m, struct snap_writer *w, char *err,
		      size_t errlen)
{
	struct state_buf b;
	unsigned i;
	int rc;

	state_buf_init(&b);
	snap_shape_put(m, &b);
	rc = add_section(w, SNAP_SEC_MACHINE, 0, &b, 0);
	if (rc)
		goto out;
	rc = add_section(w, SNAP_SEC_VM, 0, &b, vm_save(&m->vm, &b));
	if (rc) {
		snprintf(err, errlen, "saving the VM's state: %s",
			 strerror(-rc));
		goto out;
	}
	for (i = 0; i < m->ncpus; i++) {
		rc = add_section(w, SNAP_SEC_VCPU, i, &b,
				 vcpu_save(&m->vcpu[i], &b));
		if (rc) {
			snprintf(err, errlen, "saving vCPU %u: %s", i,
				 strerror(-rc));
			goto out;
		}
	}
	for (i = 0; i < m->ndevs; i++) {
		const struct device *d = &m->devs[i];

		rc = add_section(w, SNAP_SEC_DEVICE, i, &b,
				 d->ops->save(d->dev, &b));
		if (rc) {
			snprintf(err, errlen, "saving device %s: %s", d->name,
				 strerror(-rc));
			goto out;
		}
	}
out:
	state_buf_fini(&b);
	return rc;
}

int snap_encode(struct machine *m, struct state_buf *out, char *err,
		size_t errlen)
{
	struct snap_writer w;
	int rc;

	snap_writer_init(&w);
	rc = save_state(m, &w, err, errlen);
	if (!rc) {
		rc = snap_writer_encode(&w, out);
		if (rc)
			snprintf(err, errlen, "encoding the VM's state: %s",
				 strerror(-rc));
	}
	snap_writer_fini(&w);
	return rc;
}

int snap_create(struct machine *m, const struct snap_create_args *a,
		char *err, size_t errlen)
{
	struct snap_writer w;
	int rc;

	if (m->state != MACHINE_PAUSED) {
		snprintf(err, errlen, "the VM must be paused to take a "
			 "snapshot (it is %s)",
			 m->state == MACHINE_RUNNING ? "running" :
						       "not started");
		return -EINVAL;
	}
	if (a->diff && !m->dirty_log) {
		snprintf(err, errlen, "a Diff snapshot needs dirty page "
			 "tracking (--dirty-log, or track_dirty_pages when "
			 "loading)");
		return -EINVAL;
	}
	if (!strcmp(a->state_path, a->mem_path)) {
		snprintf(err, errlen, "snapshot_path and mem_file_path are "
			 "the same file");
		return -EINVAL;
	}
	snap_writer_init(&w);
	/* The state first, in memory: what can fail there fails before
	 * any file is touched. */
	rc = save_state(m, &w, err, errlen);
	if (rc)
		goto out;
	/* The guest's writes since the last snapshot join the VMM's in
	 * libvmmem's bitmaps; writing the memory file harvests them, so
	 * the next Diff is relative to this snapshot. */
	if (m->dirty_log) {
		rc = vm_sync_dirty(&m->vm);
		if (rc) {
			snprintf(err, errlen, "reading the dirty log: %s",
				 strerror(-rc));
			goto out;
		}
	}
	rc = memfile_write(m->mem, a->diff ? MEMFILE_DIFF : MEMFILE_FULL,
			   a->mem_path, err, errlen);
	if (rc)
		goto out;
	rc = snap_writer_commit(&w, a->state_path, err, errlen);
	if (rc) {
		/* Both files or neither: the memory file alone is no
		 * snapshot. */
		unlink(a->mem_path);
		goto out;
	}
	pr_debug("snapshot: %s, %s (%s)", a->state_path, a->mem_path,
		 a->diff ? "diff" : "full");
out:
	snap_writer_fini(&w);
	return rc;
}

/* Guest RAM: the memory file's pages, mapped copy-on-write. */
static int map_memory(struct machine *m, const struct machine_shape *sh,
		      const char *path, char *err, size_t errlen)
{
	struct vmmem_region *r[MACHINE_MAX_REGIONS] = { NULL };
	/* Bitmaps always: a migration turns KVM's log on when it starts. */
	unsigned flags = VMMEM_REGION_PRIVATE | VMMEM_REGION_DIRTY_LOG;
	uint64_t off = 0, need = snap_shape_ram(sh);
	struct stat st;
	unsigned i;
	int fd, rc = 0;

	/* O_NONBLOCK: a FIFO must be refused below, not block the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "memory file %s: %s", path,
			 strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "memory file %s: not a regular file",
			 path);
		goto out;
	}
	if ((uint64_t)st.st_size < need) {
		rc = -EINVAL;
		snprintf(err, errlen, "memory file %s: %llu bytes, but the "
			 "snapshot's memory is %llu bytes (truncated or the "
			 "wrong file)",
			 path, (unsigned long long)st.st_size,
			 (unsigned long long)need);
		goto out;
	}
	for (i = 0; i < sh->nregions && !rc; i++) {
		rc = vmmem_region_create_file(sh->gpa[i], sh->len[i], flags,
					      fd, off, &r[i]);
		off += sh->len[i];
	}
	if (!rc)
		rc = vmmem_create(r, sh->nregions, &m->mem);
	if (rc)
		snprintf(err, errlen, "mapping %s: %s", path, strerror(-rc));
	for (i = 0; i < sh->nregions; i++)
		vmmem_region_destroy(r[i]);
out:
	close(fd);
	return rc;
}

/* The devices the snapshot had, by name and order, are the ones built. */
static int check_devices(struct machine *m, const struct machine_shape *sh,
			 char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < sh->ndevs || i < m->ndevs; i++) {
		if (i < sh->ndevs && i < m->ndevs &&
		    !strcmp(sh->dev[i], m->devs[i].name))
			continue;
		snprintf(err, errlen, "the snapshot's devices do not match "
			 "this minivmm's (device %u: %s, here %s)", i,
			 i < sh->ndevs ? sh->dev[i] : "none",
			 i < m->ndevs ? m->devs[i].name : "none");
		return -EINVAL;
	}
	return 0;
}

static bool has_device(const struct machine_shape *sh, const char *name)
{
	unsigned i;

	for (i = 0; i < sh->ndevs; i++)
		if (!strcmp(sh->dev[i], name))
			return true;
	return false;
}

/* What the command line fixed must agree with the snapshot. */
int snap_check_options(struct machine *m, const struct machine_shape *sh,
		       char *err, size_t errlen)
{
	const struct vmm_opts *o = m->opts;

	if (o->mem_size_set && o->mem_size != snap_shape_ram(sh)) {
		snprintf(err, errlen, "the snapshot is of a VM with %llu MiB "
			 "of memory, not %llu MiB",
			 (unsigned long long)(snap_shape_ram(sh) >> 20),
			 (unsigned long long)(o->mem_size >> 20));
		return -EINVAL;
	}
	if (o->cpus_set && o->cpus != sh->ncpus) {
		snprintf(err, errlen, "the snapshot is of a VM with %u vCPU%s, "
			 "not %u", sh->ncpus, sh->ncpus == 1 ? "" : "s",
			 o->cpus);
		return -EINVAL;
	}
	return 0;
}

/* Feed one section to a restore function; the section must be used up. */
static int restore_section(const struct snap_file *f, uint32_t type,
			   uint32_t id, int (*fn)(void *, struct state_rd *),
			   void *obj)
{
	const struct snap_section *s = snap_find(f, type, id);
	struct state_rd r;
	int rc;

	if (!s)
		return -ENOENT;
	state_rd_init(&r, s->data, s->len);
	rc = fn(obj, &r);
	return rc ? rc : state_rd_end(&r);
}

static int vm_restore_fn(void *obj, struct state_rd *r)
{
	return vm_restore(obj, r);
}

static int vcpu_restore_fn(void *obj, struct state_rd *r)
{
	return vcpu_restore(obj, r);
}

static int restore_state(struct machine *m, const struct snap_file *f,
			 char *err, size_t errlen)
{
	unsigned i;
	int rc;

	rc = restore_section(f, SNAP_SEC_VM, 0, vm_restore_fn, &m->vm);
	if (rc) {
		snprintf(err, errlen, "restoring the VM's state: %s",
			 strerror(-rc));
		return rc;
	}
	for (i = 0; i < m->ncpus; i++) {
		rc = restore_section(f, SNAP_SEC_VCPU, i, vcpu_restore_fn,
				     &m->vcpu[i]);
		if (rc) {
			snprintf(err, errlen, "restoring vCPU %u: %s", i,
				 strerror(-rc));
			return rc;
		}
	}
	for (i = 0; i < m->ndevs; i++) {
		const struct device *d = &m->devs[i];

		rc = restore_section(f, SNAP_SEC_DEVICE, i, d->ops->restore,
				     d->dev);
		if (rc) {
			snprintf(err, errlen, "restoring device %s: %s",
				 d->name, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int snap_shape(const struct snap_file *f, const char *name,
	       struct machine_shape *sh, char *err, size_t errlen)
{
	const struct snap_section *s = snap_find(f, SNAP_SEC_MACHINE, 0);
	int rc = s ? snap_shape_parse(s->data, s->len, sh) : -EBADMSG;

	if (rc)
		snprintf(err, errlen, "%s: the machine's description is "
			 "missing or malformed", name);
	return rc;
}

int snap_build(struct machine *m, const struct machine_shape *sh,
	       char *err, size_t errlen)
{
	int rc;

	/* The steps print their own errors, as at boot. */
	rc = vm_init(&m->vm);
	if (!rc)
		rc = vm_set_memory(&m->vm, m->mem, m->dirty_log);
	if (!rc)
		rc = machine_build_devices(m, has_device(sh, "serial"));
	if (!rc)
		rc = machine_build_vcpus(m, sh->ncpus);
	if (rc) {
		snprintf(err, errlen, "setting up the VM: %s", strerror(-rc));
		return rc;
	}
	return check_devices(m, sh, err, errlen);
}

int snap_apply(struct machine *m, const struct snap_file *f, bool resume,
	       char *err, size_t errlen)
{
	int rc = restore_state(m, f, err, errlen);

	if (rc)
		return rc;
	/* Started paused: the vCPU threads park as soon as they start. */
	pthread_mutex_lock(&m->lock);
	if (!resume) {
		m->pausing = true;
		__atomic_store_n(&m->leave, true, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&m->state, resume ? MACHINE_RUNNING : MACHINE_PAUSED,
			 __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int snap_restore(struct machine *m, const struct snap_load_args *a,
		 char *err, size_t errlen)
{
	struct machine_shape sh;
	struct snap_file f;
	int rc;

	rc = snap_read(a->state_path, &f, err, errlen);
	if (rc)
		return rc;
	rc = snap_shape(&f, a->state_path, &sh, err, errlen);
	if (!rc)
		rc = snap_check_options(m, &sh, err, errlen);
	if (!rc)
		rc = a->uffd ? lazy_map(m, &sh, a->mem_path, err, errlen) :
			       map_memory(m, &sh, a->mem_path, err, errlen);
	if (rc)
		goto out;
	m->dirty_log = a->track_dirty;
	rc = snap_build(m, &sh, err, errlen);
	if (!rc)
		rc = snap_apply(m, &f, a->resume, err, errlen);
	if (!rc)
		pr_debug("restored %s: %u vCPU(s), %llu MiB", a->state_path,
			 sh.ncpus,
			 (unsigned long long)(snap_shape_ram(&sh) >> 20));
out:
	snap_file_fini(&f);
	return rc;
}
