/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/api.c, the control API: each test starts the server on
 * a socket in a temporary folder with fake VMM callbacks that record what
 * reaches them and return what the test scripted, and talks to it as curl
 * would, one HTTP/1.1 request per connection (Connection: close), reading
 * the response until the server closes. The client below is the test's
 * peer, not a parser the product uses; bodies are read with jansson. No
 * sleeps: every exchange is a blocking round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../minivmm/api.h"
#include "sysmock.h"

/* What the fake VMM was told, and what it answers. */
struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Scripted by the test. */
	int rc;
	char msg[128];
	enum api_state state;
	const char *id;
	const char *version;
	bool block; /* pause() waits until released */
	/* Recorded by the callbacks. */
	int calls; /* of any callback */
	int info_calls, pause_calls, resume_calls, create_calls, load_calls;
	int migrate_calls;
	char url[256];
	enum api_snapshot_type type;
	enum api_mem_backend backend;
	char snapshot_path[256];
	char mem_path[256]; /* mem_file_path or backend_path */
	bool track_dirty_pages, resume_vm;
	size_t errlen; /* of the last err buffer; 0 if not empty */
	bool entered, released, returned;
};

struct fixture {
	char dir[64];
	char path[128];
	struct fake fake;
	struct api *api;
};

/* A response as the client saw it. */
struct resp {
	int status;
	char head[4096]; /* status line and headers */
	json_t *body;	 /* NULL when empty */
};

static void fake_info(void *opaque, struct api_info *out)
{
	struct fake *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	k->info_calls++;
	out->state = k->state;
	if (k->id)
		snprintf(out->id, sizeof(out->id), "%s", k->id);
	if (k->version)
		snprintf(out->vmm_version, sizeof(out->vmm_version), "%s",
			 k->version);
	pthread_mutex_unlock(&k->lock);
}

/* The scripted result, with its message in err. Called locked. */
static int result(struct fake *k, char *err, size_t errlen)
{
	k->errlen = err[0] ? 0 : errlen;
	snprintf(err, errlen, "%s", k->msg);
	return k->rc;
}

static int fake_pause(void *opaque, char *err, size_t errlen)
{
	struct fake *k = opaque;
	int rc;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	k->pause_calls++;
	k->entered = true;
	pthread_cond_broadcast(&k->cond);
	while (k->block && !k->released)
		pthread_cond_wait(&k->cond, &k->lock);
	k->returned = true;
	rc = result(k, err, errlen);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static int fake_resume(void *opaque, char *err, size_t errlen)
{
	struct fake *k = opaque;
	int rc;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	k->resume_calls++;
	rc = result(k, err, errlen);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static int fake_create(void *opaque, const struct api_snapshot_create *req,
		       char *err, size_t errlen)
{
	struct fake *k = opaque;
	int rc;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	k->create_calls++;
	k->type = req->type;
	snprintf(k->snapshot_path, sizeof(k->snapshot_path), "%s",
		 req->snapshot_path);
	snprintf(k->mem_path, sizeof(k->mem_path), "%s", req->mem_file_path);
	rc = result(k, err, errlen);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static int fake_load(void *opaque, const struct api_snapshot_load *req,
		     char *err, size_t errlen)
{
	struct fake *k = opaque;
	int rc;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	k->load_calls++;
	snprintf(k->snapshot_path, sizeof(k->snapshot_path), "%s",
		 req->snapshot_path);
	k->backend = req->backend_type;
	snprintf(k->mem_path, sizeof(k->mem_path), "%s", req->backend_path);
	k->track_dirty_pages = req->track_dirty_pages;
	k->resume_vm = req->resume_vm;
	rc = result(k, err, errlen);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static int fake_migrate(void *opaque, const char *url, char *err,
			size_t errlen)
{
	struct fake *k = opaque;
	int rc;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	k->migrate_calls++;
	snprintf(k->url, sizeof(k->url), "%s", url);
	rc = result(k, err, errlen);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

/* A failed migration, with every field set. */
static void fake_migration(void *opaque, struct api_migration *out)
{
	struct fake *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->calls++;
	out->state = API_MIGRATION_FAILED;
	out->bytes_sent = 1ull << 40;
	out->rounds = 3;
	out->dirty_pages = 17;
	out->total_ms = 12.5;
	out->downtime_ms = 0.25;
	snprintf(out->fault_message, sizeof(out->fault_message),
		 "destination closed");
	pthread_mutex_unlock(&k->lock);
}

static const struct api_ops fake_ops = {
	.info = fake_info,
	.pause = fake_pause,
	.resume = fake_resume,
	.snapshot_create = fake_create,
	.snapshot_load = fake_load,
	.migrate = fake_migrate,
	.migration = fake_migration,
};

/* Read a counter of the fake under its lock. */
static int count(struct fixture *f, const int *counter)
{
	int n;

	pthread_mutex_lock(&f->fake.lock);
	n = *counter;
	pthread_mutex_unlock(&f->fake.lock);
	return n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	pthread_mutex_init(&f->fake.lock, NULL);
	pthread_cond_init(&f->fake.cond, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_api.XXXXXX");
	if (!mkdtemp(f->dir))
		goto err_free;
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	if (api_start(f->path, &fake_ops, &f->fake, &f->api))
		goto err_rmdir;
	*state = f;
	return 0;

err_rmdir:
	rmdir(f->dir);
err_free:
	pthread_cond_destroy(&f->fake.cond);
	pthread_mutex_destroy(&f->fake.lock);
	free(f);
	return -1;
}

/* Remove whatever a test left in the folder, then the folder. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *names[] = { "api.sock", "other.sock", "file",
				"stale.sock" };
	char p[256];
	size_t i;

	api_stop(f->api);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		unlink(p);
	}
	if (rmdir(f->dir))
		return -1;
	pthread_cond_destroy(&f->fake.cond);
	pthread_mutex_destroy(&f->fake.lock);
	free(f);
	return 0;
}

static void other_path(struct fixture *f, const char *name, char *p, size_t n)
{
	snprintf(p, n, "%s/%s", f->dir, name);
}

/* A connected client socket, or -errno. */
static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Everything until the server closes; *len gets its size. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 4096;
	char *buf = malloc(cap + 1);

	*len = 0;
	while (buf) {
		ssize_t n;

		if (*len == cap) {
			char *more = realloc(buf, 2 * cap + 1);

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	if (buf)
		buf[*len] = '\0';
	return buf;
}

/* The response on a connection whose request was sent; closes fd. */
static void receive(int fd, struct resp *r)
{
	const char *body;
	size_t n, head_len;
	char *buf;

	buf = read_all(fd, &n);
	close(fd);
	assert_non_null(buf);

	memset(r, 0, sizeof(*r));
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d ", &r->status), 1);
	body = strstr(buf, "\r\n\r\n");
	assert_non_null(body);
	head_len = (size_t)(body - buf) + 2;
	assert_true(head_len < sizeof(r->head));
	memcpy(r->head, buf, head_len);
	body += 4;
	/* Every answer, errors included, is JSON. */
	if (strcasestr(r->head, "\r\nContent-Type: application/json\r\n") ==
	    NULL)
		fail_msg("no JSON content type in:\n%s", r->head);
	if (*body) {
		json_error_t e;

		r->body = json_loadb(body, n - (size_t)(body - buf), 0, &e);
		if (!r->body)
			fail_msg("body is not JSON (%s): %s", e.text, body);
	}
	free(buf);
}

/* Send raw bytes as one request on a new connection; parse the answer. */
static void exchange(const char *path, const char *req, size_t len,
		     struct resp *r)
{
	int fd = dial(path);

	assert_true(fd >= 0);
	assert_true(write_all(fd, req, len));
	receive(fd, r);
}

/* One request as curl sends it; body NULL for none. */
static void request(struct fixture *f, const char *method, const char *url,
		    const char *body, struct resp *r)
{
	char req[API_MAX_BODY * 2];
	int n;

	if (body)
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			     "Connection: close\r\n"
			     "Content-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     method, url, strlen(body), body);
	else
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			     "Connection: close\r\n\r\n",
			     method, url);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	exchange(f->path, req, (size_t)n, r);
}

static const char *field(const struct resp *r, const char *key)
{
	return json_string_value(json_object_get(r->body, key));
}

/* A 400 whose fault_message contains needle; frees r. */
static void assert_fault(struct resp *r, const char *needle)
{
	const char *msg = field(r, "fault_message");

	assert_int_equal(r->status, 400);
	assert_non_null(msg);
	if (!strstr(msg, needle))
		fail_msg("fault_message \"%s\" lacks \"%s\"", msg, needle);
	json_decref(r->body);
}

/* A 204 without a body; frees r. */
static void assert_no_content(struct resp *r)
{
	if (r->status != 204)
		fail_msg("status %d, fault_message \"%s\"", r->status,
			 field(r, "fault_message"));
	assert_null(r->body);
}

/* A request the server must refuse before any callback runs. */
static void assert_refused(struct fixture *f, const char *method,
			   const char *url, const char *body,
			   const char *needle)
{
	struct resp r;

	request(f, method, url, body, &r);
	assert_fault(&r, needle);
	assert_int_equal(count(f, &f->fake.calls), 0);
}

static void get_info_in(struct fixture *f, enum api_state state,
			const char *name)
{
	struct resp r;

	f->fake.state = state;
	f->fake.id = "vm-7";
	f->fake.version = "0.1.0";
	request(f, "GET", "/", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(field(&r, "state"), name);
	assert_string_equal(field(&r, "id"), "vm-7");
	assert_string_equal(field(&r, "vmm_version"), "0.1.0");
	assert_string_equal(field(&r, "app_name"), "minivmm");
	assert_int_equal(json_object_size(r.body), 4);
	assert_int_equal(count(f, &f->fake.info_calls), 1);
	json_decref(r.body);
}

static void test_api_get_reports_not_started(void **state)
{
	get_info_in(*state, API_STATE_NOT_STARTED, "Not started");
}

static void test_api_get_reports_running(void **state)
{
	get_info_in(*state, API_STATE_RUNNING, "Running");
}

static void test_api_get_reports_paused(void **state)
{
	get_info_in(*state, API_STATE_PAUSED, "Paused");
}

static void test_api_get_has_defaults_the_vmm_leaves(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "GET", "/", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(field(&r, "id"), "anonymous-instance");
	assert_string_equal(field(&r, "vmm_version"), "unknown");
	assert_string_equal(field(&r, "state"), "Not started");
	json_decref(r.body);
}

static void test_api_patch_vm_paused_pauses(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "PATCH", "/vm", "{\"state\": \"Paused\"}", &r);
	assert_no_content(&r);
	assert_int_equal(count(f, &f->fake.pause_calls), 1);
	assert_int_equal(count(f, &f->fake.calls), 1);
}

static void test_api_patch_vm_resumed_resumes(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "PATCH", "/vm", "{\"state\": \"Resumed\"}", &r);
	assert_no_content(&r);
	assert_int_equal(count(f, &f->fake.resume_calls), 1);
	assert_int_equal(count(f, &f->fake.calls), 1);
}

static void test_api_patch_vm_rejects_an_unknown_state(void **state)
{
	assert_refused(*state, "PATCH", "/vm", "{\"state\": \"Running\"}",
		       "unknown variant `Running` for field `state`");
}

static void test_api_create_full_passes_its_fields(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.type = API_SNAPSHOT_DIFF;
	request(f, "PUT", "/snapshot/create",
		"{\"snapshot_type\": \"Full\", \"snapshot_path\": "
		"\"/s/vm.state\","
		" \"mem_file_path\": \"/s/vm.mem\"}",
		&r);
	assert_no_content(&r);
	assert_int_equal(count(f, &f->fake.create_calls), 1);
	assert_int_equal(f->fake.type, API_SNAPSHOT_FULL);
	assert_string_equal(f->fake.snapshot_path, "/s/vm.state");
	assert_string_equal(f->fake.mem_path, "/s/vm.mem");
}

static void test_api_create_diff_passes_its_fields(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "PUT", "/snapshot/create",
		"{\"mem_file_path\": \"m \\u00e9\\n\", \"snapshot_path\": "
		"\"s\","
		" \"snapshot_type\": \"Diff\"}",
		&r);
	assert_no_content(&r);
	assert_int_equal(count(f, &f->fake.create_calls), 1);
	assert_int_equal(f->fake.type, API_SNAPSHOT_DIFF);
	assert_string_equal(f->fake.snapshot_path, "s");
	assert_string_equal(f->fake.mem_path, "m \xc3\xa9\n");
}

static void test_api_create_is_full_by_default(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.type = API_SNAPSHOT_DIFF;
	request(f, "PUT", "/snapshot/create",
		"{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}", &r);
	assert_no_content(&r);
	assert_int_equal(f->fake.type, API_SNAPSHOT_FULL);
}

static void test_api_create_rejects_an_unknown_type(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/create",
		       "{\"snapshot_type\": \"full\", \"snapshot_path\": \"s\","
		       " \"mem_file_path\": \"m\"}",
		       "unknown variant `full` for field `snapshot_type`");
}

/* Firecracker dropped "version" from SnapshotCreateParams; so does this. */
static void test_api_create_rejects_the_version_field(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/create",
		       "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\","
		       " \"version\": \"1.0.0\"}",
		       "unknown field `version`");
}

static void test_api_load_file_backend_passes_fields_and_flags(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.backend = API_BACKEND_UFFD;
	request(f, "PUT", "/snapshot/load",
		"{\"snapshot_path\": \"/s/vm.state\", \"mem_backend\": "
		"{\"backend_type\": \"File\", \"backend_path\": \"/s/vm.mem\"},"
		" \"track_dirty_pages\": true, \"resume_vm\": true}",
		&r);
	assert_no_content(&r);
	assert_null(strcasestr(r.head, "Deprecation"));
	assert_int_equal(count(f, &f->fake.load_calls), 1);
	assert_string_equal(f->fake.snapshot_path, "/s/vm.state");
	assert_int_equal(f->fake.backend, API_BACKEND_FILE);
	assert_string_equal(f->fake.mem_path, "/s/vm.mem");
	assert_true(f->fake.track_dirty_pages);
	assert_true(f->fake.resume_vm);
}

static void test_api_load_flags_default_to_false(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.track_dirty_pages = f->fake.resume_vm = true;
	request(f, "PUT", "/snapshot/load",
		"{\"snapshot_path\": \"s\", \"mem_backend\": "
		"{\"backend_path\": \"m\", \"backend_type\": \"File\"}}",
		&r);
	assert_no_content(&r);
	assert_false(f->fake.track_dirty_pages);
	assert_false(f->fake.resume_vm);
}

static void test_api_load_passes_a_uffd_backend_on(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "PUT", "/snapshot/load",
		"{\"snapshot_path\": \"s\", \"mem_backend\": "
		"{\"backend_type\": \"Uffd\", \"backend_path\": "
		"\"/run/pf.sock\"},"
		" \"resume_vm\": false}",
		&r);
	assert_no_content(&r);
	assert_int_equal(f->fake.backend, API_BACKEND_UFFD);
	assert_string_equal(f->fake.mem_path, "/run/pf.sock");
}

static void test_api_load_takes_the_deprecated_mem_file_path(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.backend = API_BACKEND_UFFD;
	request(f, "PUT", "/snapshot/load",
		"{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}", &r);
	assert_no_content(&r);
	assert_non_null(strcasestr(r.head, "\r\nDeprecation: true\r\n"));
	assert_int_equal(f->fake.backend, API_BACKEND_FILE);
	assert_string_equal(f->fake.mem_path, "m");
}

static void
test_api_load_takes_the_deprecated_enable_diff_snapshots(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "PUT", "/snapshot/load",
		"{\"snapshot_path\": \"s\", \"enable_diff_snapshots\": true,"
		" \"mem_backend\": {\"backend_type\": \"File\","
		" \"backend_path\": \"m\"}}",
		&r);
	assert_no_content(&r);
	assert_non_null(strcasestr(r.head, "\r\nDeprecation: true\r\n"));
	assert_true(f->fake.track_dirty_pages);
}

static void test_api_load_rejects_both_memory_fields(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/load",
		       "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\","
		       " \"mem_backend\": {\"backend_type\": \"File\","
		       " \"backend_path\": \"m\"}}",
		       "too many fields");
}

static void test_api_load_rejects_neither_memory_field(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/load",
		       "{\"snapshot_path\": \"s\", \"resume_vm\": true}",
		       "either `mem_backend` or `mem_file_path` is required");
}

static void test_api_load_rejects_an_unknown_backend_type(void **state)
{
	assert_refused(
		*state, "PUT", "/snapshot/load",
		"{\"snapshot_path\": \"s\", \"mem_backend\": "
		"{\"backend_type\": \"Memfd\", \"backend_path\": \"m\"}}",
		"unknown variant `Memfd` for field `backend_type`");
}

static void test_api_load_rejects_a_missing_backend_path(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/load",
		       "{\"snapshot_path\": \"s\", \"mem_backend\": "
		       "{\"backend_type\": \"File\"}}",
		       "missing field `backend_path` in `mem_backend`");
}

static void test_api_load_rejects_an_unknown_backend_field(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/load",
		       "{\"snapshot_path\": \"s\", \"mem_backend\": "
		       "{\"backend_type\": \"File\", \"backend_path\": \"m\","
		       " \"page_size\": 4096}}",
		       "unknown field `page_size` in `mem_backend`");
}

/* Firecracker has these; minivmm has no such devices or clock mode. */
static void test_api_load_rejects_firecracker_only_fields(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/load",
		       "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\","
		       " \"network_overrides\": []}",
		       "unknown field `network_overrides`");
}

static void test_api_rejects_malformed_json(void **state)
{
	assert_refused(*state, "PATCH", "/vm", "{\"state\": \"Paused\"",
		       "deserializing the json body");
}

static void test_api_rejects_trailing_garbage(void **state)
{
	assert_refused(*state, "PATCH", "/vm", "{\"state\": \"Paused\"} x",
		       "deserializing the json body");
}

static void test_api_rejects_a_body_that_is_not_an_object(void **state)
{
	assert_refused(*state, "PATCH", "/vm", "[\"Paused\"]",
		       "expected a JSON object");
}

static void test_api_rejects_a_string_for_a_boolean(void **state)
{
	assert_refused(
		*state, "PUT", "/snapshot/load",
		"{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\","
		" \"resume_vm\": \"yes\"}",
		"invalid type for field `resume_vm`: expected a boolean");
}

static void test_api_rejects_a_number_for_a_string(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/create",
		       "{\"snapshot_path\": 5, \"mem_file_path\": \"m\"}",
		       "invalid type for field `snapshot_path`: expected a "
		       "string");
}

static void test_api_rejects_null_for_an_optional_field(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/create",
		       "{\"snapshot_type\": null, \"snapshot_path\": \"s\","
		       " \"mem_file_path\": \"m\"}",
		       "invalid type for field `snapshot_type`");
}

static void test_api_rejects_a_missing_required_field(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/create",
		       "{\"snapshot_path\": \"s\"}",
		       "missing field `mem_file_path`");
}

static void test_api_rejects_an_unknown_field(void **state)
{
	assert_refused(*state, "PATCH", "/vm",
		       "{\"state\": \"Paused\", \"force\": true}",
		       "unknown field `force`, expected one of `state`");
}

static void test_api_rejects_a_duplicate_field(void **state)
{
	assert_refused(*state, "PATCH", "/vm",
		       "{\"state\": \"Paused\", \"state\": \"Resumed\"}",
		       "duplicate");
}

static void test_api_rejects_a_wrong_method_on_a_known_path(void **state)
{
	struct fixture *f = *state;

	assert_refused(f, "GET", "/vm", NULL,
		       "Invalid request method and/or path: GET /vm.");
	assert_refused(f, "PUT", "/vm", "{\"state\": \"Paused\"}",
		       "Invalid request method and/or path: PUT /vm.");
	assert_refused(f, "PATCH", "/snapshot/create", "{}",
		       "Invalid request method and/or path: PATCH "
		       "/snapshot/create.");
	assert_refused(f, "DELETE", "/", NULL,
		       "Invalid request method and/or path: DELETE /.");
	assert_refused(f, "POST", "/snapshot/load", "{}",
		       "Invalid request method and/or path: POST "
		       "/snapshot/load.");
}

/* Firecracker answers 400, not 404, for a path it does not serve. */
static void test_api_rejects_an_unknown_path_with_400(void **state)
{
	struct fixture *f = *state;

	assert_refused(f, "GET", "/machine-config", NULL,
		       "Invalid request method and/or path: GET "
		       "/machine-config.");
	assert_refused(f, "PATCH", "/vm/", "{\"state\": \"Paused\"}",
		       "Invalid request method and/or path: PATCH /vm/.");
	assert_refused(f, "PUT", "/snapshot/create/now", "{}",
		       "Invalid request method and/or path: PUT "
		       "/snapshot/create/now.");
}

static void test_api_fault_messages_stay_valid_json(void **state)
{
	struct fixture *f = *state;
	static const char req[] =
		"GET /\xff\xfe\"x HTTP/1.1\r\n"
		"Host: localhost\r\nConnection: close\r\n\r\n";
	struct resp r;

	exchange(f->path, req, sizeof(req) - 1, &r);
	assert_fault(&r, "Invalid request method and/or path: GET /??\"x.");
}

static void test_api_rejects_a_get_with_a_body(void **state)
{
	assert_refused(*state, "GET", "/", "{}",
		       "GET request cannot have a body.");
}

static void test_api_rejects_a_put_without_a_body(void **state)
{
	assert_refused(*state, "PUT", "/snapshot/create", NULL,
		       "Empty PUT request.");
}

static void test_api_rejects_a_patch_without_a_body(void **state)
{
	assert_refused(*state, "PATCH", "/vm", "", "Empty PATCH request.");
}

static void test_api_callback_error_becomes_400_with_its_message(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.rc = -EINVAL;
	snprintf(f->fake.msg, sizeof(f->fake.msg),
		 "Diff snapshots need dirty page tracking");
	request(f, "PUT", "/snapshot/create",
		"{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"s\","
		" \"mem_file_path\": \"m\"}",
		&r);
	assert_int_equal(r.status, 400);
	assert_string_equal(field(&r, "fault_message"),
			    "Diff snapshots need dirty page tracking");
	assert_int_equal(json_object_size(r.body), 1);
	json_decref(r.body);
	assert_int_equal(count(f, &f->fake.create_calls), 1);
	assert_true(f->fake.errlen >= 256);
}

static void test_api_callback_error_without_message_says_errno(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.rc = -EBUSY;
	request(f, "PATCH", "/vm", "{\"state\": \"Resumed\"}", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(field(&r, "fault_message"), strerror(EBUSY));
	json_decref(r.body);
}

static void test_api_callback_message_stays_valid_json(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.rc = -ENOENT;
	snprintf(f->fake.msg, sizeof(f->fake.msg), "no file \"a\xff\"");
	request(f, "PUT", "/snapshot/load",
		"{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(field(&r, "fault_message"), "no file \"a?\"");
	json_decref(r.body);
}

static void test_api_missing_callbacks_are_refused(void **state)
{
	struct fixture *f = *state;
	static const struct api_ops none = { 0 };
	struct api *a;
	struct resp r;

	api_stop(f->api);
	f->api = NULL;
	assert_int_equal(api_start(f->path, &none, NULL, &a), 0);
	request(f, "PATCH", "/vm", "{\"state\": \"Paused\"}", &r);
	assert_fault(&r, strerror(ENOTSUP));
	request(f, "GET", "/", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(field(&r, "state"), "Not started");
	json_decref(r.body);
	api_stop(a);
}

static void test_api_accepts_a_body_of_the_largest_size(void **state)
{
	struct fixture *f = *state;
	static char body[API_MAX_BODY + 1];
	static const char json[] =
		"{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}";
	struct resp r;

	memset(body, ' ', API_MAX_BODY);
	memcpy(body, json, sizeof(json) - 1);
	body[API_MAX_BODY] = '\0';
	request(f, "PUT", "/snapshot/create", body, &r);
	assert_no_content(&r);
	assert_int_equal(count(f, &f->fake.create_calls), 1);
}

static void test_api_rejects_an_oversize_body(void **state)
{
	struct fixture *f = *state;
	static char body[API_MAX_BODY + 2];
	static const char json[] =
		"{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}";

	memset(body, ' ', API_MAX_BODY + 1);
	memcpy(body, json, sizeof(json) - 1);
	body[API_MAX_BODY + 1] = '\0';
	assert_refused(f, "PUT", "/snapshot/create", body,
		       "Request payload with size 16385 is larger than the "
		       "limit of 16384 allowed by server.");
}

/* A chunked body has no length up front: it is cut off as it arrives. */
static void test_api_rejects_an_oversize_chunked_body(void **state)
{
	struct fixture *f = *state;
	static char req[API_MAX_BODY * 2];
	struct resp r;
	size_t len;
	int i;

	len = (size_t)snprintf(req, sizeof(req),
			       "PUT /snapshot/create HTTP/1.1\r\n"
			       "Host: localhost\r\nConnection: close\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 5; i++) {
		len += (size_t)snprintf(req + len, sizeof(req) - len, "%x\r\n",
					4000);
		memset(req + len, ' ', 4000);
		len += 4000;
		len += (size_t)snprintf(req + len, sizeof(req) - len, "\r\n");
	}
	len += (size_t)snprintf(req + len, sizeof(req) - len, "0\r\n\r\n");
	exchange(f->path, req, len, &r);
	assert_fault(&r, "larger than the limit of 16384");
	assert_int_equal(count(f, &f->fake.calls), 0);
}

static void test_api_accepts_a_chunked_body(void **state)
{
	struct fixture *f = *state;
	static const char req[] = "PATCH /vm HTTP/1.1\r\n"
				  "Host: localhost\r\nConnection: close\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n"
				  "9\r\n{\"state\":\r\n"
				  "a\r\n \"Paused\"}\r\n"
				  "0\r\n\r\n";
	struct resp r;

	exchange(f->path, req, sizeof(req) - 1, &r);
	assert_no_content(&r);
	assert_int_equal(count(f, &f->fake.pause_calls), 1);
}

static void test_api_serves_one_client_after_another(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	int i;

	for (i = 0; i < 3 * API_MAX_CONNECTIONS; i++) {
		request(f, "PATCH", "/vm", "{\"state\": \"Paused\"}", &r);
		assert_no_content(&r);
	}
	assert_int_equal(count(f, &f->fake.pause_calls),
			 3 * API_MAX_CONNECTIONS);
}

/* A client over the limit waits its turn rather than being dropped. */
static void test_api_refuses_a_client_over_the_connection_limit(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n"
				  "Connection: close\r\n\r\n";
	struct fixture *f = *state;
	int idle[API_MAX_CONNECTIONS];
	struct resp r;
	size_t n;
	char *buf;
	int i, fd;

	for (i = 0; i < API_MAX_CONNECTIONS; i++) {
		idle[i] = dial(f->path);
		assert_true(idle[i] >= 0);
	}
	/* One too many: closed without an answer, not left waiting. */
	fd = dial(f->path);
	assert_true(fd >= 0);
	write_all(fd, req, sizeof(req) - 1);
	buf = read_all(fd, &n);
	close(fd);
	assert_int_equal(n, 0);
	free(buf);
	/* A connection that ends makes room for the next client (once its
	 * thread has finished). */
	close(idle[0]);
	for (i = 0;; i++) {
		assert_true(i < 100000);
		fd = dial(f->path);
		assert_true(fd >= 0);
		write_all(fd, req, sizeof(req) - 1);
		buf = read_all(fd, &n);
		close(fd);
		if (n > 0)
			break;
		free(buf);
	}
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d ", &r.status), 1);
	assert_int_equal(r.status, 200);
	free(buf);
	for (i = 1; i < API_MAX_CONNECTIONS; i++)
		close(idle[i]);
}

static void test_api_socket_is_private_whatever_the_umask(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct stat st;
	struct api *a;
	mode_t old;
	int rc;

	other_path(f, "other.sock", path, sizeof(path));
	old = umask(0);
	rc = api_start(path, &fake_ops, &f->fake, &a);
	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	api_stop(a);
}

static void test_api_socket_is_usable_under_a_strict_umask(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct stat st;
	struct api *a;
	mode_t old;
	int rc, fd;

	other_path(f, "other.sock", path, sizeof(path));
	old = umask(0277);
	rc = api_start(path, &fake_ops, &f->fake, &a);
	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	fd = dial(path);
	assert_true(fd >= 0);
	close(fd);
	api_stop(a);
}

static void test_api_start_refuses_an_existing_file(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct stat st;
	struct api *a = NULL;
	int fd;

	other_path(f, "file", path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(api_start(path, &fake_ops, &f->fake, &a), -EEXIST);
	assert_null(a);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 1);
}

/* Firecracker does not take over a stale socket either. */
static void test_api_start_refuses_a_stale_socket(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api *a = NULL;
	struct stat st;
	int fd;

	other_path(f, "stale.sock", sa.sun_path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(api_start(sa.sun_path, &fake_ops, &f->fake, &a),
			 -EEXIST);
	assert_null(a);
	assert_int_equal(lstat(sa.sun_path, &st), 0);
}

static void test_api_start_refuses_a_live_socket_and_leaves_it(void **state)
{
	struct fixture *f = *state;
	struct api *a = NULL;
	struct resp r;

	assert_int_equal(api_start(f->path, &fake_ops, &f->fake, &a), -EEXIST);
	assert_null(a);
	request(f, "GET", "/", NULL, &r);
	assert_int_equal(r.status, 200);
	json_decref(r.body);
}

static void test_api_start_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	char longer[200];
	struct api *a = NULL;

	memset(longer, 'a', sizeof(longer) - 1);
	longer[0] = '/';
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(api_start(NULL, &fake_ops, NULL, &a), -EINVAL);
	assert_int_equal(api_start(f->path, NULL, NULL, &a), -EINVAL);
	assert_int_equal(api_start(f->path, &fake_ops, NULL, NULL), -EINVAL);
	assert_int_equal(api_start("", &fake_ops, NULL, &a), -EINVAL);
	assert_int_equal(api_start(longer, &fake_ops, NULL, &a), -EINVAL);
	assert_null(a);
}

static void test_api_start_fails_in_a_missing_folder(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct api *a = NULL;

	other_path(f, "missing/api.sock", path, sizeof(path));
	assert_int_equal(api_start(path, &fake_ops, NULL, &a), -ENOENT);
	assert_null(a);
}

static void test_api_start_fails_cleanly_without_memory(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct api *a = NULL;
	struct stat st;

	other_path(f, "other.sock", path, sizeof(path));
	sysmock_reset();
	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(api_start(path, &fake_ops, NULL, &a), -ENOMEM);
	assert_true(sysmock_done());
	assert_null(a);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_api_stop_removes_the_socket(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	api_stop(f->api);
	f->api = NULL;
	assert_int_equal(lstat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(dial(f->path), -ENOENT);
}

static void test_api_stop_leaves_a_file_that_replaced_the_socket(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd;

	assert_int_equal(unlink(f->path), 0);
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	api_stop(f->api);
	f->api = NULL;
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void test_api_stop_of_nothing_does_nothing(void **state)
{
	(void)state;
	api_stop(NULL);
}

/* A client whose request a blocked callback holds up. */
static void *pause_client(void *arg)
{
	static const char req[] = "PATCH /vm HTTP/1.1\r\nHost: localhost\r\n"
				  "Connection: close\r\n"
				  "Content-Length: 18\r\n\r\n"
				  "{\"state\":\"Paused\"}";
	struct fixture *f = arg;
	size_t len;
	char *buf;
	int fd = dial(f->path);

	if (fd < 0)
		return NULL;
	/* The server may close without answering: it is stopping. */
	if (write_all(fd, req, sizeof(req) - 1)) {
		buf = read_all(fd, &len);
		free(buf);
	}
	close(fd);
	return NULL;
}

struct stopper {
	struct fixture *f;
	bool returned_first; /* the callback returned before api_stop */
};

static void *stop_server(void *arg)
{
	struct stopper *s = arg;

	api_stop(s->f->api);
	pthread_mutex_lock(&s->f->fake.lock);
	s->returned_first = s->f->fake.returned;
	pthread_mutex_unlock(&s->f->fake.lock);
	return NULL;
}

static void test_api_stop_waits_for_a_running_callback(void **state)
{
	struct fixture *f = *state;
	struct stopper s = { .f = f };
	pthread_t client, stopper;
	struct stat st;

	f->fake.block = true;
	assert_int_equal(pthread_create(&client, NULL, pause_client, f), 0);
	pthread_mutex_lock(&f->fake.lock);
	while (!f->fake.entered)
		pthread_cond_wait(&f->fake.cond, &f->fake.lock);
	pthread_mutex_unlock(&f->fake.lock);

	assert_int_equal(pthread_create(&stopper, NULL, stop_server, &s), 0);
	pthread_mutex_lock(&f->fake.lock);
	f->fake.released = true;
	pthread_cond_broadcast(&f->fake.cond);
	pthread_mutex_unlock(&f->fake.lock);
	assert_int_equal(pthread_join(stopper, NULL), 0);
	assert_int_equal(pthread_join(client, NULL), 0);
	f->api = NULL;

	assert_true(s.returned_first);
	assert_int_equal(count(f, &f->fake.pause_calls), 1);
	assert_int_equal(lstat(f->path, &st), -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static void test_api_migrate_passes_the_destination(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "PUT", "/migrate",
		"{\"destination_url\": \"unix:/run/dest.sock\"}", &r);
	assert_no_content(&r);
	assert_int_equal(count(f, &f->fake.migrate_calls), 1);
	assert_string_equal(f->fake.url, "unix:/run/dest.sock");
}

static void test_api_migrate_needs_a_destination(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "PUT", "/migrate", "{}", &r);
	assert_fault(&r, "missing field `destination_url`");
	request(f, "PUT", "/migrate", "{\"destination_url\": 5}", &r);
	assert_fault(&r, "destination_url");
	assert_int_equal(count(f, &f->fake.migrate_calls), 0);
}

static void test_api_migrate_failure_is_a_fault(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	f->fake.rc = -ECONNREFUSED;
	snprintf(f->fake.msg, sizeof(f->fake.msg), "nobody listens there");
	request(f, "PUT", "/migrate", "{\"destination_url\": \"tcp:x:1\"}",
		&r);
	assert_fault(&r, "nobody listens there");
}

static void test_api_migration_progress_is_reported(void **state)
{
	struct fixture *f = *state;
	struct resp r;

	request(f, "GET", "/migrate", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(field(&r, "state"), "failed");
	assert_true(json_integer_value(json_object_get(r.body, "bytes_sent")) ==
		    (json_int_t)(1ull << 40));
	assert_int_equal(json_integer_value(json_object_get(r.body, "rounds")),
			 3);
	assert_int_equal(
		json_integer_value(json_object_get(r.body, "dirty_pages")), 17);
	assert_true(json_real_value(json_object_get(r.body, "downtime_ms")) ==
		    0.25);
	assert_string_equal(field(&r, "fault_message"), "destination closed");
	json_decref(r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_api_get_reports_not_started),
		T(test_api_get_reports_running),
		T(test_api_get_reports_paused),
		T(test_api_get_has_defaults_the_vmm_leaves),
		T(test_api_patch_vm_paused_pauses),
		T(test_api_patch_vm_resumed_resumes),
		T(test_api_patch_vm_rejects_an_unknown_state),
		T(test_api_create_full_passes_its_fields),
		T(test_api_create_diff_passes_its_fields),
		T(test_api_create_is_full_by_default),
		T(test_api_create_rejects_an_unknown_type),
		T(test_api_create_rejects_the_version_field),
		T(test_api_load_file_backend_passes_fields_and_flags),
		T(test_api_load_flags_default_to_false),
		T(test_api_load_passes_a_uffd_backend_on),
		T(test_api_load_takes_the_deprecated_mem_file_path),
		T(test_api_load_takes_the_deprecated_enable_diff_snapshots),
		T(test_api_load_rejects_both_memory_fields),
		T(test_api_load_rejects_neither_memory_field),
		T(test_api_load_rejects_an_unknown_backend_type),
		T(test_api_load_rejects_a_missing_backend_path),
		T(test_api_load_rejects_an_unknown_backend_field),
		T(test_api_load_rejects_firecracker_only_fields),
		T(test_api_rejects_malformed_json),
		T(test_api_rejects_trailing_garbage),
		T(test_api_rejects_a_body_that_is_not_an_object),
		T(test_api_rejects_a_string_for_a_boolean),
		T(test_api_rejects_a_number_for_a_string),
		T(test_api_rejects_null_for_an_optional_field),
		T(test_api_rejects_a_missing_required_field),
		T(test_api_rejects_an_unknown_field),
		T(test_api_rejects_a_duplicate_field),
		T(test_api_rejects_a_wrong_method_on_a_known_path),
		T(test_api_rejects_an_unknown_path_with_400),
		T(test_api_fault_messages_stay_valid_json),
		T(test_api_rejects_a_get_with_a_body),
		T(test_api_rejects_a_put_without_a_body),
		T(test_api_rejects_a_patch_without_a_body),
		T(test_api_callback_error_becomes_400_with_its_message),
		T(test_api_callback_error_without_message_says_errno),
		T(test_api_callback_message_stays_valid_json),
		T(test_api_missing_callbacks_are_refused),
		T(test_api_accepts_a_body_of_the_largest_size),
		T(test_api_rejects_an_oversize_body),
		T(test_api_rejects_an_oversize_chunked_body),
		T(test_api_accepts_a_chunked_body),
		T(test_api_serves_one_client_after_another),
		T(test_api_refuses_a_client_over_the_connection_limit),
		T(test_api_socket_is_private_whatever_the_umask),
		T(test_api_socket_is_usable_under_a_strict_umask),
		T(test_api_start_refuses_an_existing_file),
		T(test_api_start_refuses_a_stale_socket),
		T(test_api_start_refuses_a_live_socket_and_leaves_it),
		T(test_api_start_rejects_bad_arguments),
		T(test_api_start_fails_in_a_missing_folder),
		T(test_api_start_fails_cleanly_without_memory),
		T(test_api_stop_removes_the_socket),
		T(test_api_stop_leaves_a_file_that_replaced_the_socket),
		T(test_api_stop_of_nothing_does_nothing),
		T(test_api_stop_waits_for_a_running_callback),
			T(test_api_migrate_passes_the_destination),
		T(test_api_migrate_needs_a_destination),
		T(test_api_migrate_failure_is_a_fault),
		T(test_api_migration_progress_is_reported),
};

	/* A client writing to a connection the server closed must see
	 * EPIPE, not die. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
