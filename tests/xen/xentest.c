/* SPDX-License-Identifier: MIT */
/*
 * xentest - libvmmem-xen against a real Xen hypervisor, run inside dom0 by
 * tools/xen-test (`ninja test-xen`).
 *
 * GRANT: dom0 shares a few of its own pages with itself through gntalloc
 * (libxengnttab's xengntshr_*), and libvmmem maps them by grant reference
 * through /dev/xen/gntdev, once mapped up front and once on demand
 * (NO_ADVANCE_MAP). Every byte written on one side is checked on the other.
 *
 * FOREIGN: an HVM domain is created but never started, a little RAM is
 * populated at gfn 0 and up, and libvmmem maps part of it by GFN through
 * /dev/xen/privcmd. A second, independent mapping made with
 * libxenforeignmemory checks the data both ways.
 *
 * Output: one line per check, "PASS: <what>", "FAIL: <what>: <details>" or
 * "SKIP: <what>: <why>", and a last line "xentest: N passed, M failed".
 * The exit status is 0 only when nothing failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

#include <vmmem/vmmem.h>
#include <vmmem/xen.h>

#define PAGE 4096u

/* Grant tests: pages dom0 shares with itself. */
#define GRANT_PAGES 4u

/*
 * Foreign tests: the HVM domain has gfns [0, DOMAIN_PAGES) populated, and
 * libvmmem maps FOREIGN_PAGES of them from FOREIGN_GFN (GPA 0x100000). The
 * pages below FOREIGN_GFN exist so that vmmem_xen_attach(), which maps
 * [0, max gpfn], finds every page it maps.
 */
#define FOREIGN_GFN 0x100u
#define FOREIGN_PAGES 16u
#define DOMAIN_PAGES (FOREIGN_GFN + FOREIGN_PAGES)
#define FOREIGN_GPA ((vmmem_gpa_t)FOREIGN_GFN * PAGE)
#define FOREIGN_LEN ((uint64_t)FOREIGN_PAGES * PAGE)
/* A gfn well above the populated ones. */
#define UNPOPULATED_GFN 0x400u

/* The counters of the whole run; this is a test program, not library code. */
static unsigned n_passed, n_failed, n_skipped;

static void vreport(const char *tag, const char *what, const char *fmt,
		    va_list ap)
{
	printf("%s: %s", tag, what);
	if (fmt) {
		printf(": ");
		vprintf(fmt, ap);
	}
	printf("\n");
	fflush(stdout);
}

/* check() - count and print one check; details (printf) only on failure. */
__attribute__((format(printf, 3, 4))) static int check(int ok, const char *what,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (ok) {
		n_passed++;
		vreport("PASS", what, NULL, ap);
	} else {
		n_failed++;
		vreport("FAIL", what, fmt, ap);
	}
	va_end(ap);
	return ok;
}

__attribute__((format(printf, 2, 3))) static void skip(const char *what,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	n_skipped++;
	vreport("SKIP", what, fmt, ap);
	va_end(ap);
}

/* check_rc() - a check that a call returned 0 (or a negative errno). */
static int check_rc(int rc, const char *what)
{
	return check(rc == 0, what, "%s (%d)", strerror(rc < 0 ? -rc : rc), rc);
}

/* check_err() - a check that a call failed with exactly -want. */
static int check_err(int rc, int want, const char *what)
{
	return check(rc == -want, what, "got %d (%s), expected %d (%s)", rc,
		     rc < 0 ? strerror(-rc) : "success", -want, strerror(want));
}

/* The byte at index i of test pattern seed: differs per page and per seed. */
static uint8_t pattern(size_t i, unsigned seed)
{
	return (uint8_t)(i * 131 + (i >> 12) * 17 + seed * 29 + 1);
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(i, seed);
}

/*
 * check_same() - compare two buffers byte by byte; the failure says where
 * the first difference is.
 */
static int check_same(const uint8_t *got, const uint8_t *want, size_t len,
		      const char *what)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != want[i])
			break;
	return check(i == len, what,
		     "byte %zu of %zu is 0x%02x, expected 0x%02x", i, len,
		     i < len ? got[i] : 0, i < len ? want[i] : 0);
}

/* ---- GRANT ------------------------------------------------------------ */

/* Pages dom0 shares with itself, seen from the sharing side. */
struct grant_share {
	xengntshr_handle *shr;
	uint8_t *hva;
	uint32_t refs[GRANT_PAGES];
	int consecutive;
};

static int grant_share_init(struct grant_share *gs)
{
	unsigned i;

	memset(gs, 0, sizeof(*gs));
	gs->shr = xengntshr_open(NULL, 0);
	if (!gs->shr) {
		check(0, "grant: xengntshr_open (gntalloc)", "%s",
		      strerror(errno));
		return -1;
	}
	gs->hva = xengntshr_share_pages(gs->shr, 0, GRANT_PAGES, gs->refs, 1);
	if (!check(gs->hva != NULL, "grant: share pages of dom0 with dom0",
		   "xengntshr_share_pages: %s", strerror(errno))) {
		xengntshr_close(gs->shr);
		gs->shr = NULL;
		return -1;
	}
	gs->consecutive = 1;
	for (i = 1; i < GRANT_PAGES; i++)
		if (gs->refs[i] != gs->refs[0] + i)
			gs->consecutive = 0;
	printf("xentest: grant refs");
	for (i = 0; i < GRANT_PAGES; i++)
		printf(" %" PRIu32, gs->refs[i]);
	printf(" (%s)\n", gs->consecutive ? "consecutive" : "not consecutive");
	return 0;
}

static void grant_share_fini(struct grant_share *gs)
{
	if (!gs->shr)
		return;
	if (xengntshr_unshare(gs->shr, gs->hva, GRANT_PAGES) != 0)
		check(0, "grant: unshare", "%s", strerror(errno));
	else
		check(1, "grant: unshare", NULL);
	if (xengntshr_close(gs->shr) != 0)
		check(0, "grant: close gntalloc", "%s", strerror(errno));
	gs->shr = NULL;
}

static vmmem_gpa_t grant_gpa(uint32_t ref)
{
	return VMMEM_XEN_GRANT_ADDR_OFF | ((vmmem_gpa_t)ref << 12);
}

/*
 * grant_map() - a memory set over the shared pages: one region when the
 * refs are consecutive, else one per ref. page_gpa[i] receives the guest
 * address of shared page i.
 */
static int grant_map(const struct grant_share *gs, int gntdev_fd,
		     unsigned xen_flags, const char *mode, struct vmmem **mem,
		     vmmem_gpa_t page_gpa[GRANT_PAGES])
{
	struct vmmem_region *regions[GRANT_PAGES] = { NULL };
	size_t n = gs->consecutive ? 1 : GRANT_PAGES;
	uint64_t len = gs->consecutive ? GRANT_PAGES * PAGE : PAGE;
	char what[128];
	size_t i;
	int ret = -1;
	int rc;

	for (i = 0; i < GRANT_PAGES; i++)
		page_gpa[i] = gs->consecutive
				      ? grant_gpa(gs->refs[0]) + i * PAGE
				      : grant_gpa(gs->refs[i]);
	for (i = 0; i < n; i++) {
		rc = vmmem_region_create_xen(grant_gpa(gs->refs[i]), len, 0,
					     xen_flags, gntdev_fd, 0, 0,
					     &regions[i]);
		snprintf(what, sizeof(what),
			 "grant %s: vmmem_region_create_xen at ref %" PRIu32
			 ", %" PRIu64 " bytes",
			 mode, gs->refs[i], len);
		if (!check_rc(rc, what))
			goto out;
	}
	snprintf(what, sizeof(what), "grant %s: region reports its flags",
		 mode);
	check(vmmem_region_xen_flags(regions[0]) == xen_flags &&
		      vmmem_region_xen_domid(regions[0]) == 0,
	      what, "flags 0x%x domid %" PRIu32 ", expected 0x%x and 0",
	      vmmem_region_xen_flags(regions[0]),
	      vmmem_region_xen_domid(regions[0]), xen_flags);
	rc = vmmem_create(regions, n, mem);
	snprintf(what, sizeof(what), "grant %s: vmmem_create", mode);
	if (!check_rc(rc, what))
		goto out;
	ret = 0;
out:
	/* The set holds its own references. */
	for (i = 0; i < n; i++)
		vmmem_region_destroy(regions[i]);
	return ret;
}

static void test_grant(const struct grant_share *gs, int gntdev_fd,
		       unsigned xen_flags, const char *mode)
{
	const size_t len = GRANT_PAGES * PAGE;
	vmmem_gpa_t page_gpa[GRANT_PAGES];
	struct vmmem *mem = NULL;
	uint8_t *want = NULL;
	uint8_t *got = NULL;
	char what[160];
	uint64_t v64, w64;
	uint32_t v32, old32;
	void *hva = NULL;
	size_t i;
	int rc;

	want = malloc(len);
	got = malloc(len);
	if (!want || !got) {
		check(0, "grant: allocate buffers", "%s", strerror(ENOMEM));
		goto out;
	}
	if (grant_map(gs, gntdev_fd, xen_flags, mode, &mem, page_gpa) != 0)
		goto out;

	/* libvmmem writes, the sharing side reads. */
	fill_pattern(want, len, 1);
	rc = 0;
	if (gs->consecutive)
		rc = vmmem_write(mem, page_gpa[0], want, len);
	else
		for (i = 0; i < GRANT_PAGES && rc == 0; i++)
			rc = vmmem_write(mem, page_gpa[i], want + i * PAGE,
					 PAGE);
	snprintf(what, sizeof(what), "grant %s: vmmem_write of %zu bytes", mode,
		 len);
	if (check_rc(rc, what)) {
		snprintf(what, sizeof(what),
			 "grant %s: sharing side sees every byte written "
			 "through libvmmem",
			 mode);
		check_same(gs->hva, want, len, what);
	}

	/* The sharing side writes, libvmmem reads. */
	fill_pattern(want, len, 2);
	memcpy(gs->hva, want, len);
	memset(got, 0, len);
	rc = 0;
	if (gs->consecutive)
		rc = vmmem_read(mem, page_gpa[0], got, len);
	else
		for (i = 0; i < GRANT_PAGES && rc == 0; i++)
			rc = vmmem_read(mem, page_gpa[i], got + i * PAGE, PAGE);
	snprintf(what, sizeof(what), "grant %s: vmmem_read of %zu bytes", mode,
		 len);
	if (check_rc(rc, what)) {
		snprintf(what, sizeof(what),
			 "grant %s: libvmmem reads every byte the sharing "
			 "side wrote",
			 mode);
		check_same(got, want, len, what);
	}

	/* Scalars and atomics. */
	memcpy(&w64, gs->hva + PAGE + 8, sizeof(w64));
	rc = vmmem_read_u64(mem, page_gpa[1] + 8, &v64);
	snprintf(what, sizeof(what), "grant %s: vmmem_read_u64", mode);
	if (check_rc(rc, what)) {
		snprintf(what, sizeof(what), "grant %s: vmmem_read_u64 value",
			 mode);
		check(v64 == w64, what,
		      "0x%016" PRIx64 ", expected 0x%016" PRIx64, v64, w64);
	}
	v32 = 0x11111111;
	memcpy(gs->hva + 2 * PAGE + 16, &v32, sizeof(v32));
	rc = vmmem_atomic_fetch_add_u32(mem, page_gpa[2] + 16, 5, &old32,
					__ATOMIC_SEQ_CST);
	snprintf(what, sizeof(what), "grant %s: vmmem_atomic_fetch_add_u32",
		 mode);
	if (check_rc(rc, what)) {
		memcpy(&v32, gs->hva + 2 * PAGE + 16, sizeof(v32));
		snprintf(what, sizeof(what),
			 "grant %s: fetch_add old and new value", mode);
		check(old32 == 0x11111111 && v32 == 0x11111116, what,
		      "old 0x%08" PRIx32 " new 0x%08" PRIx32
		      ", expected 0x11111111 and 0x11111116",
		      old32, v32);
	}

	/* An access across the boundary of pages 0 and 1. */
	if (gs->consecutive) {
		fill_pattern(want, 16, 3);
		rc = vmmem_write(mem, page_gpa[0] + PAGE - 8, want, 16);
		snprintf(what, sizeof(what),
			 "grant %s: page-crossing vmmem_write", mode);
		if (check_rc(rc, what)) {
			snprintf(what, sizeof(what),
				 "grant %s: page-crossing write seen on both "
				 "pages",
				 mode);
			check_same(gs->hva + PAGE - 8, want, 16, what);
		}
		fill_pattern(want, 16, 4);
		memcpy(gs->hva + PAGE - 8, want, 16);
		memset(got, 0, 16);
		rc = vmmem_read(mem, page_gpa[0] + PAGE - 8, got, 16);
		snprintf(what, sizeof(what),
			 "grant %s: page-crossing vmmem_read", mode);
		if (check_rc(rc, what)) {
			snprintf(what, sizeof(what),
				 "grant %s: page-crossing read data", mode);
			check_same(got, want, 16, what);
		}
	} else {
		snprintf(what, sizeof(what), "grant %s: page-crossing access",
			 mode);
		skip(what, "grant refs are not consecutive");
	}

	/* Host pointers: only up-front mappings have them. */
	rc = vmmem_get_ptr(mem, page_gpa[3], PAGE, &hva);
	if (xen_flags & VMMEM_XEN_NO_ADVANCE_MAP) {
		snprintf(what, sizeof(what),
			 "grant %s: vmmem_get_ptr is -ENOTSUP", mode);
		check_err(rc, ENOTSUP, what);
	} else {
		snprintf(what, sizeof(what), "grant %s: vmmem_get_ptr", mode);
		if (check_rc(rc, what)) {
			memset(hva, 0x5a, PAGE);
			memset(want, 0x5a, PAGE);
			snprintf(what, sizeof(what),
				 "grant %s: writes through the host pointer "
				 "reach the shared page",
				 mode);
			check_same(gs->hva + 3 * PAGE, want, PAGE, what);
		}
	}

	/* Past the last shared page there is no region. */
	rc = vmmem_read(mem, page_gpa[GRANT_PAGES - 1] + PAGE - 8, got, 16);
	snprintf(what, sizeof(what),
		 "grant %s: read past the last shared page is -EFAULT", mode);
	check_err(rc, EFAULT, what);

out:
	vmmem_destroy(mem);
	free(got);
	free(want);
}

/* ---- FOREIGN ---------------------------------------------------------- */

/* An HVM domain that is never started, with gfns [0, DOMAIN_PAGES). */
struct hvm_domain {
	xc_interface *xch;
	uint32_t domid;
	int created;
};

static int hvm_domain_create(struct hvm_domain *d)
{
	struct xen_domctl_createdomain config = {
		.flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap,
		.max_vcpus = 1,
		.max_evtchn_port = 1023,
		.max_grant_frames = -1,
		.max_maptrack_frames = -1,
		.grant_opts = XEN_DOMCTL_GRANT_version(1),
		.arch = { .emulation_flags = XEN_X86_EMU_LAPIC },
	};
	xen_pfn_t gfns[DOMAIN_PAGES];
	unsigned i;
	int rc;

	memset(d, 0, sizeof(*d));
	d->xch = xc_interface_open(NULL, NULL, 0);
	if (!check(d->xch != NULL, "foreign: xc_interface_open", "%s",
		   strerror(errno)))
		return -1;
	if (!check(xc_domain_create(d->xch, &d->domid, &config) == 0,
		   "foreign: create an HVM+HAP domain", "%s", strerror(errno)))
		return -1;
	d->created = 1;
	printf("xentest: HVM domain %" PRIu32 "\n", d->domid);
	if (!check(xc_domain_max_vcpus(d->xch, d->domid, 1) == 0,
		   "foreign: xc_domain_max_vcpus", "%s", strerror(errno)))
		return -1;
	if (!check(xc_set_paging_mempool_size(d->xch, d->domid, 4u << 20) == 0,
		   "foreign: xc_set_paging_mempool_size 4 MiB", "%s",
		   strerror(errno)))
		return -1;
	/* In KiB: the populated pages plus 1 MiB of headroom. */
	rc = xc_domain_setmaxmem(d->xch, d->domid,
				 DOMAIN_PAGES * (PAGE / 1024) + 1024);
	if (!check(rc == 0, "foreign: xc_domain_setmaxmem", "%s",
		   strerror(errno)))
		return -1;
	for (i = 0; i < DOMAIN_PAGES; i++)
		gfns[i] = i;
	rc = xc_domain_populate_physmap_exact(d->xch, d->domid, DOMAIN_PAGES, 0,
					      0, gfns);
	if (!check(rc == 0, "foreign: populate gfns 0-0x10f", "%s",
		   strerror(errno)))
		return -1;
	return 0;
}

static void hvm_domain_destroy(struct hvm_domain *d)
{
	if (d->created)
		check(xc_domain_destroy(d->xch, d->domid) == 0,
		      "foreign: destroy the domain", "%s", strerror(errno));
	if (d->xch && xc_interface_close(d->xch) != 0)
		check(0, "foreign: xc_interface_close", "%s", strerror(errno));
}

/*
 * test_attach() - vmmem_xen_attach() on the same domain: one region over
 * [0, DOMAIN_PAGES * 4096), showing the data of the second mapping.
 */
static void test_attach(uint32_t domid, const uint8_t *second)
{
	struct vmmem_region *r;
	struct vmmem *mem = NULL;
	vmmem_gpa_t last = 0;
	uint8_t *got;
	int rc;

	rc = vmmem_xen_attach(domid, 0, &mem);
	if (rc == -ENOSYS || rc == -ENOTSUP) {
		skip("foreign: vmmem_xen_attach", "not implemented (%s)",
		     strerror(-rc));
		return;
	}
	if (!check_rc(rc, "foreign: vmmem_xen_attach"))
		return;
	r = vmmem_region_at(mem, 0);
	rc = vmmem_last_gpa(mem, &last);
	check(vmmem_region_count(mem) == 1 && rc == 0 &&
		      last == (vmmem_gpa_t)DOMAIN_PAGES * PAGE - 1 &&
		      vmmem_region_xen_flags(r) == VMMEM_XEN_FOREIGN &&
		      vmmem_region_xen_domid(r) == domid,
	      "foreign: attach covers [0, max gpfn] with one FOREIGN region",
	      "%zu regions, last gpa 0x%" PRIx64 " (rc %d), flags 0x%x, "
	      "expected 1, 0x%" PRIx64 ", 0x%x",
	      vmmem_region_count(mem), last, rc, vmmem_region_xen_flags(r),
	      (vmmem_gpa_t)DOMAIN_PAGES * PAGE - 1, VMMEM_XEN_FOREIGN);
	got = malloc(FOREIGN_LEN);
	if (!got) {
		check(0, "foreign: allocate buffer", "%s", strerror(ENOMEM));
		goto out;
	}
	rc = vmmem_read(mem, FOREIGN_GPA, got, FOREIGN_LEN);
	if (check_rc(rc, "foreign: vmmem_read through the attached set"))
		check_same(got, second, FOREIGN_LEN,
			   "foreign: attached set sees the domain's data");
	free(got);
out:
	vmmem_destroy(mem);

	mem = NULL;
	rc = vmmem_xen_attach(0x7000, 0, &mem);
	check(rc == -ESRCH, "foreign: vmmem_xen_attach of no domain is -ESRCH",
	      "got %d (%s)", rc, rc < 0 ? strerror(-rc) : "success");
	vmmem_destroy(mem);
}

static void test_foreign(int privcmd_fd)
{
	struct vmmem_region *region = NULL;
	struct vmmem_region *bad = NULL;
	xenforeignmemory_handle *fmem = NULL;
	xen_pfn_t gfns[FOREIGN_PAGES];
	int errs[FOREIGN_PAGES];
	struct hvm_domain dom;
	struct vmmem *mem = NULL;
	uint8_t *second = NULL;
	uint8_t *want = NULL;
	uint8_t *got = NULL;
	uint64_t v64, w64;
	uint32_t v32, old32;
	void *hva = NULL;
	unsigned i;
	int rc;

	if (hvm_domain_create(&dom) != 0)
		goto out;

	/* The second, independent mapping of the same frames. */
	fmem = xenforeignmemory_open(NULL, 0);
	if (!check(fmem != NULL, "foreign: xenforeignmemory_open", "%s",
		   strerror(errno)))
		goto out;
	for (i = 0; i < FOREIGN_PAGES; i++)
		gfns[i] = FOREIGN_GFN + i;
	memset(errs, 0, sizeof(errs));
	second = xenforeignmemory_map(fmem, dom.domid, PROT_READ | PROT_WRITE,
				      FOREIGN_PAGES, gfns, errs);
	if (!check(second != NULL,
		   "foreign: second mapping with xenforeignmemory_map", "%s",
		   strerror(errno)))
		goto out;
	for (i = 0; i < FOREIGN_PAGES; i++)
		if (errs[i] != 0)
			break;
	if (!check(i == FOREIGN_PAGES,
		   "foreign: every page of the second mapping mapped",
		   "page %u: %s", i,
		   i < FOREIGN_PAGES ? strerror(-errs[i]) : ""))
		goto out;

	rc = vmmem_region_create_xen(FOREIGN_GPA, FOREIGN_LEN, 0,
				     VMMEM_XEN_FOREIGN, privcmd_fd, 0,
				     dom.domid, &region);
	if (!check_rc(rc, "foreign: vmmem_region_create_xen of gfns "
			  "0x100-0x10f"))
		goto out;
	check(vmmem_region_xen_flags(region) == VMMEM_XEN_FOREIGN &&
		      vmmem_region_xen_domid(region) == dom.domid,
	      "foreign: region reports its flags and domid",
	      "flags 0x%x domid %" PRIu32, vmmem_region_xen_flags(region),
	      vmmem_region_xen_domid(region));
	rc = vmmem_create(&region, 1, &mem);
	if (!check_rc(rc, "foreign: vmmem_create"))
		goto out;

	want = malloc(FOREIGN_LEN);
	got = malloc(FOREIGN_LEN);
	if (!want || !got) {
		check(0, "foreign: allocate buffers", "%s", strerror(ENOMEM));
		goto out;
	}

	/* libvmmem writes, the second mapping reads. */
	fill_pattern(want, FOREIGN_LEN, 5);
	rc = vmmem_write(mem, FOREIGN_GPA, want, FOREIGN_LEN);
	if (check_rc(rc, "foreign: vmmem_write of 64 KiB"))
		check_same(second, want, FOREIGN_LEN,
			   "foreign: second mapping sees every byte written "
			   "through libvmmem");

	/* The second mapping writes, libvmmem reads. */
	fill_pattern(want, FOREIGN_LEN, 6);
	memcpy(second, want, FOREIGN_LEN);
	memset(got, 0, FOREIGN_LEN);
	rc = vmmem_read(mem, FOREIGN_GPA, got, FOREIGN_LEN);
	if (check_rc(rc, "foreign: vmmem_read of 64 KiB"))
		check_same(got, want, FOREIGN_LEN,
			   "foreign: libvmmem reads every byte the second "
			   "mapping wrote");

	/* Scalars and atomics. */
	memcpy(&w64, second + 5 * PAGE + 40, sizeof(w64));
	rc = vmmem_read_u64(mem, FOREIGN_GPA + 5 * PAGE + 40, &v64);
	if (check_rc(rc, "foreign: vmmem_read_u64"))
		check(v64 == w64, "foreign: vmmem_read_u64 value",
		      "0x%016" PRIx64 ", expected 0x%016" PRIx64, v64, w64);
	v32 = 0x22222222;
	memcpy(second + 7 * PAGE + 4, &v32, sizeof(v32));
	rc = vmmem_atomic_fetch_add_u32(mem, FOREIGN_GPA + 7 * PAGE + 4, 9,
					&old32, __ATOMIC_SEQ_CST);
	if (check_rc(rc, "foreign: vmmem_atomic_fetch_add_u32")) {
		memcpy(&v32, second + 7 * PAGE + 4, sizeof(v32));
		check(old32 == 0x22222222 && v32 == 0x2222222b,
		      "foreign: fetch_add old and new value",
		      "old 0x%08" PRIx32 " new 0x%08" PRIx32
		      ", expected 0x22222222 and 0x2222222b",
		      old32, v32);
	}

	/* Up-front mappings have a host pointer onto the same frames. */
	rc = vmmem_get_ptr(mem, FOREIGN_GPA + 9 * PAGE, PAGE, &hva);
	if (check_rc(rc, "foreign: vmmem_get_ptr")) {
		memset(hva, 0xa5, PAGE);
		memset(want, 0xa5, PAGE);
		check_same(second + 9 * PAGE, want, PAGE,
			   "foreign: writes through the host pointer reach "
			   "the domain's page");
	}

	/* The region ends with the populated pages it covers. */
	rc = vmmem_read(mem, FOREIGN_GPA + FOREIGN_LEN - 8, got, 16);
	check_err(rc, EFAULT, "foreign: read past the region is -EFAULT");
	rc = vmmem_read_u64(mem, FOREIGN_GPA + FOREIGN_LEN, &v64);
	check_err(rc, EFAULT,
		  "foreign: vmmem_read_u64 past the region is "
		  "-EFAULT");

	/* A region over frames the domain does not have cannot be made. */
	rc = vmmem_region_create_xen((vmmem_gpa_t)UNPOPULATED_GFN * PAGE, PAGE,
				     0, VMMEM_XEN_FOREIGN, privcmd_fd, 0,
				     dom.domid, &bad);
	check_err(rc, EFAULT,
		  "foreign: region over an unpopulated gfn is "
		  "-EFAULT");
	vmmem_region_destroy(bad);

	test_attach(dom.domid, second);

out:
	vmmem_destroy(mem);
	vmmem_region_destroy(region);
	if (second && xenforeignmemory_unmap(fmem, second, FOREIGN_PAGES) != 0)
		check(0, "foreign: unmap the second mapping", "%s",
		      strerror(errno));
	if (fmem && xenforeignmemory_close(fmem) != 0)
		check(0, "foreign: xenforeignmemory_close", "%s",
		      strerror(errno));
	hvm_domain_destroy(&dom);
	free(got);
	free(want);
}

/* ---- main ------------------------------------------------------------- */

static int open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		char what[80];

		snprintf(what, sizeof(what), "open %s", path);
		check(0, what, "%s", strerror(errno));
	}
	return fd;
}

int main(void)
{
	struct grant_share gs;
	int privcmd_fd;
	int gntdev_fd;

	setvbuf(stdout, NULL, _IOLBF, 0);

	gntdev_fd = open_dev("/dev/xen/gntdev");
	if (gntdev_fd >= 0 && grant_share_init(&gs) == 0) {
		test_grant(&gs, gntdev_fd, VMMEM_XEN_GRANT, "up-front");
		test_grant(&gs, gntdev_fd,
			   VMMEM_XEN_GRANT | VMMEM_XEN_NO_ADVANCE_MAP,
			   "on-demand");
		grant_share_fini(&gs);
	}
	if (gntdev_fd >= 0 && close(gntdev_fd) != 0)
		check(0, "close /dev/xen/gntdev", "%s", strerror(errno));

	privcmd_fd = open_dev("/dev/xen/privcmd");
	if (privcmd_fd >= 0) {
		test_foreign(privcmd_fd);
		if (close(privcmd_fd) != 0)
			check(0, "close /dev/xen/privcmd", "%s",
			      strerror(errno));
	}

	if (n_skipped)
		printf("xentest: %u skipped\n", n_skipped);
	printf("xentest: %u passed, %u failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
