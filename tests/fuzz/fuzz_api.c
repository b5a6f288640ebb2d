/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the control API's request handling, api_handle(), the
 * function the server calls once a request's body is in: routing, the
 * size and method checks, JSON parsing and each route's field validation,
 * the callbacks (stubbed here) and the response.
 *
 * Input: METHOD NUL URL NUL BODY (a missing part is empty). The stubbed
 * VMM fails one call in three, with a message taken from the body (which
 * need not be UTF-8), and reports an id taken from it too.
 *
 * Checks, besides the sanitizers': the status is 200, 204, 400 or 500;
 * 204 comes without a body and everything else with one that is a JSON
 * object (a fault carries a string "fault_message"); a callback gets
 * well-formed requests (known enum values, strings that are strings).
 */
#include <errno.h>
#include <stdint.h>

#include <jansson.h>

#include "../../minivmm/api.h"
#include "fuzz.h"

struct stub {
	const uint8_t *body;
	size_t len;
	unsigned calls;
};

/* Every third call fails, with the body's first bytes as the message. */
static int result(struct stub *k, char *err, size_t errlen)
{
	size_t n;

	if (++k->calls % 3)
		return 0;
	n = k->len < errlen - 1 ? k->len : errlen - 1;
	memcpy(err, k->body, n);
	err[n] = '\0';
	return -EBUSY;
}

static void check_string(const char *s)
{
	if (s)
		(void)strlen(s);
}

static void stub_info(void *opaque, struct api_info *out)
{
	struct stub *k = opaque;
	size_t n = k->len < API_ID_MAX - 1 ? k->len : API_ID_MAX - 1;

	memcpy(out->id, k->body, n);
	out->id[n] = '\0';
	out->state = (enum api_state)(k->len % 3);
}

static int stub_pause(void *opaque, char *err, size_t errlen)
{
	return result(opaque, err, errlen);
}

static int stub_create(void *opaque, const struct api_snapshot_create *req,
		       char *err, size_t errlen)
{
	if (req->type != API_SNAPSHOT_FULL && req->type != API_SNAPSHOT_DIFF)
		abort();
	check_string(req->snapshot_path);
	check_string(req->mem_file_path);
	return result(opaque, err, errlen);
}

static int stub_load(void *opaque, const struct api_snapshot_load *req,
		     char *err, size_t errlen)
{
	if (req->backend_type != API_BACKEND_FILE &&
	    req->backend_type != API_BACKEND_UFFD)
		abort();
	check_string(req->snapshot_path);
	check_string(req->backend_path);
	return result(opaque, err, errlen);
}

static int stub_migrate(void *opaque, const char *url, char *err, size_t errlen)
{
	check_string(url);
	return result(opaque, err, errlen);
}

static void stub_migration(void *opaque, struct api_migration *out)
{
	struct stub *k = opaque;
	size_t n = k->len < sizeof(out->fault_message) - 1
			   ? k->len
			   : sizeof(out->fault_message) - 1;

	out->state = (enum api_migration_state)(k->len % 4);
	memcpy(out->fault_message, k->body, n);
	out->fault_message[n] = '\0';
}

static const struct api_ops stub_ops = {
	.info = stub_info,
	.pause = stub_pause,
	.resume = stub_pause,
	.snapshot_create = stub_create,
	.snapshot_load = stub_load,
	.migrate = stub_migrate,
	.migration = stub_migration,
};

/* The next NUL-terminated part of the input, copied. */
static char *part(struct fuzz_in *in)
{
	const uint8_t *end = memchr(in->p, '\0', in->n);
	size_t n = end ? (size_t)(end - in->p) : in->n, len;
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, fuzz_take(in, n, &len), n);
	s[n] = '\0';
	fuzz_take(in, 1, &len); /* the NUL */
	return s;
}

static void check(const struct api_response *r)
{
	json_t *j, *msg;

	if (r->status == 204) {
		if (r->body)
			abort();
		return;
	}
	if (r->status != 200 && r->status != 400)
		abort(); /* 500 only when out of memory */
	j = r->body ? json_loads(r->body, 0, NULL) : NULL;
	if (!j || !json_is_object(j))
		abort();
	msg = json_object_get(j, "fault_message");
	if (r->status == 400 && !json_is_string(msg))
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char *method = part(&in), *url = part(&in), *body;
	struct stub k = { in.p, in.n, 0 };
	struct api_response r;

	/* A heap copy of exactly the body's size: reads past it show. */
	body = malloc(in.n ? in.n : 1);
	if (!body)
		abort();
	memcpy(body, in.p, in.n);
	api_handle(&stub_ops, &k, method, url, body, in.n, &r);
	check(&r);
	free(r.body);
	free(body);
	free(url);
	free(method);
	return 0;
}
