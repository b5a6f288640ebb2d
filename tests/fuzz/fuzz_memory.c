/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: libvmmem's range accesses against a reference model.
 *
 * The input describes up to 6 regions (anywhere in the 64-bit space, up to
 * 8 KiB each, possibly adjacent) and then a list of operations with
 * fuzzer-chosen addresses and lengths. Every operation is done on the
 * library and on a model that knows only "which addresses are backed" and
 * "what byte is at each backed address"; results and guest contents must
 * agree exactly, including the error code and all-or-nothing behaviour.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/vmmem.h>

#define MAX_REGIONS 6
#define MAX_LEN 8192
#define MAX_OP_LEN 20000

struct model_region {
	uint64_t gpa, len;
	uint8_t *bytes;		/* the model's copy */
};

struct input {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes-- && in->n) {
		v = (v << 8) | *in->p++;
		in->n--;
	}
	return v;
}

/* The model's byte at gpa, or NULL when unbacked. */
static uint8_t *model_at(struct model_region *r, int n, uint64_t gpa)
{
	for (int i = 0; i < n; i++)
		if (gpa - r[i].gpa < r[i].len)
			return &r[i].bytes[gpa - r[i].gpa];
	return NULL;
}

/* What an all-or-nothing access of [gpa, gpa + len) should return. */
static int model_check(struct model_region *r, int n, uint64_t gpa,
		       uint64_t len)
{
	uint64_t i;

	if (len == 0)
		return 0;
	if (gpa + (len - 1) < gpa)
		return -EOVERFLOW;
	for (i = 0; i < len; i++)
		if (!model_at(r, n, gpa + i))
			return -EFAULT;
	return 0;
}

static void compare_all(struct vmmem *mem, struct model_region *r, int n)
{
	uint8_t buf[MAX_LEN];

	for (int i = 0; i < n; i++) {
		if (vmmem_read(mem, r[i].gpa, buf, r[i].len) ||
		    memcmp(buf, r[i].bytes, r[i].len))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_region model[MAX_REGIONS];
	struct vmmem_region *regions[MAX_REGIONS];
	static uint8_t buf[MAX_OP_LEN], pattern[MAX_OP_LEN];
	struct input in = { data, size };
	struct vmmem *mem = NULL;
	int n = 0, i, ops = 0;

	/* Regions: a base, then each one either right after the previous
	 * (adjacent) or at a fuzzer-chosen address. */
	int want = (int)(take(&in, 1) % (MAX_REGIONS + 1));
	uint64_t next = take(&in, 8);

	for (i = 0; i < want; i++) {
		uint64_t len = take(&in, 2) % MAX_LEN + 1;
		uint64_t gpa = (take(&in, 1) & 1) ? next : take(&in, 8);
		uint64_t last;
		bool overlap = false;

		if (vmmem_gpa_last(gpa, len, &last))
			continue;
		for (int j = 0; j < n; j++)
			if (gpa <= model[j].gpa + (model[j].len - 1) &&
			    model[j].gpa <= last)
				overlap = true;
		if (overlap ||
		    vmmem_region_create_anon(gpa, len, VMMEM_REGION_DIRTY_LOG,
					     &regions[n]))
			continue;
		model[n] = (struct model_region){ gpa, len, calloc(1, len) };
		n++;
		next = last + 1;
	}
	if (vmmem_create(regions, (size_t)n, &mem))
		abort();
	for (i = 0; i < n; i++)
		vmmem_region_destroy(regions[i]);

	while (in.n && ops++ < 64) {
		unsigned op = (unsigned)take(&in, 1) % 8;
		/* Addresses near a region, or anywhere. */
		uint64_t gpa = take(&in, 1) & 1 && n ?
				       model[take(&in, 1) % n].gpa +
					       (int16_t)take(&in, 2) :
				       take(&in, 8);
		uint64_t len = take(&in, 2) % MAX_OP_LEN;
		int expect = model_check(model, n, gpa, len), rc;
		uint64_t k;
		size_t done;

		for (k = 0; k < len; k++)
			pattern[k] = (uint8_t)(k * 7 + ops);
		switch (op) {
		case 0: /* read: all or nothing */
			memset(buf, 0xa5, len);
			rc = vmmem_read(mem, gpa, buf, len);
			if (rc != expect)
				abort();
			for (k = 0; k < len; k++)
				if (buf[k] != (rc ? 0xa5 :
						    *model_at(model, n, gpa + k)))
					abort();
			break;
		case 1: /* write: all or nothing */
			rc = vmmem_write(mem, gpa, pattern, len);
			if (rc != expect)
				abort();
			for (k = 0; !rc && k < len; k++)
				*model_at(model, n, gpa + k) = pattern[k];
			break;
		case 2: /* partial write: up to the first hole */
			rc = vmmem_write_partial(mem, gpa, pattern, len, &done);
			/* A range that wraps past 2^64: nothing is written. */
			if (len && gpa + (len - 1) < gpa) {
				if (rc != -EOVERFLOW || done)
					abort();
				break;
			}
			for (k = 0; k < done; k++) {
				uint8_t *m = model_at(model, n, gpa + k);

				if (!m)
					abort();
				*m = pattern[k];
			}
			if (done < len && rc == 0)
				abort();
			if (done < len && gpa + done != 0 &&
			    model_at(model, n, gpa + done))
				abort();
			break;
		case 3: /* fill */
			rc = vmmem_fill(mem, gpa, 0x3c, len);
			if (rc != expect)
				abort();
			for (k = 0; !rc && k < len; k++)
				*model_at(model, n, gpa + k) = 0x3c;
			break;
		case 4: { /* scalar at any alignment */
			uint32_t v = (uint32_t)gpa * 2654435761u, back = 0;

			expect = model_check(model, n, gpa, 4);
			rc = vmmem_write_u32(mem, gpa, v);
			if (rc != expect)
				abort();
			if (!rc) {
				memcpy(buf, &v, 4);
				for (k = 0; k < 4; k++)
					*model_at(model, n, gpa + k) = buf[k];
				if (vmmem_read_u32(mem, gpa, &back) ||
				    back != v)
					abort();
			}
			break;
		}
		case 5: /* check_range agrees with the model */
			if (vmmem_check_range(mem, gpa, len) != expect)
				abort();
			break;
		case 6: { /* get_ptr: one region or -EXDEV */
			void *hva;

			rc = vmmem_get_ptr(mem, gpa, len, &hva);
			if (len == 0 ? rc != -EINVAL :
			    expect ? rc != expect :
				     rc != 0 && rc != -EXDEV)
				abort();
			break;
		}
		default: { /* atomics: aligned and in one region, or an error */
			uint64_t old;

			rc = vmmem_atomic_fetch_add_u64(mem, gpa, 1, &old,
							__ATOMIC_SEQ_CST);
			expect = model_check(model, n, gpa, 8);
			if (expect ? rc != expect && rc != -EXDEV :
				     rc != 0 && rc != -EXDEV && rc != -EINVAL)
				abort();
			if (rc == 0) {
				uint64_t v = old + 1;

				memcpy(buf, &v, 8);
				for (k = 0; k < 8; k++)
					*model_at(model, n, gpa + k) = buf[k];
			}
			break;
		}
		}
	}
	compare_all(mem, model, n);
	vmmem_destroy(mem);
	for (i = 0; i < n; i++)
		free(model[i].bytes);
	return 0;
}
