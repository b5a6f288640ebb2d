/* SPDX-License-Identifier: MIT */
/*
 * api.c - the control API's server: a Unix socket handed to libmicrohttpd,
 * request bodies parsed by jansson and checked against a small table of
 * fields per route, then one call into the VMM through struct api_ops.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "util.h"

/*
 * Connections the kernel queues while API_MAX_CONNECTIONS are being
 * served; a client beyond them waits in connect() (EAGAIN if non-blocking).
 */
#define API_BACKLOG 16
/* libmicrohttpd's per-connection pool: request line, headers, buffers. */
#define API_CONN_MEMORY (32 * 1024)
/* Longest fault message, and the err buffer handed to callbacks. */
#define API_MSG_MAX 512
/* Seconds api_stop() waits for answers still being sent. */
#define API_STOP_WAIT_S 2

/*
 * libmicrohttpd is loaded when a server starts, not when minivmm does: it
 * brings gnutls and eight more libraries, a few milliseconds of every
 * process start, which a restore without the API should not pay.
 */
static struct {
	pthread_once_t once;
	const char *error;	/* why it could not be loaded, or NULL */
	struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t,
					   MHD_AcceptPolicyCallback, void *,
					   MHD_AccessHandlerCallback, void *,
					   ...);
	void (*stop_daemon)(struct MHD_Daemon *);
	MHD_socket (*quiesce_daemon)(struct MHD_Daemon *);
	struct MHD_Response *(*create_response_from_buffer)(
		size_t, void *, enum MHD_ResponseMemoryMode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *,
					       const char *, const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *,
					  unsigned int, struct MHD_Response *);
	void (*destroy_response)(struct MHD_Response *);
} mhd = { .once = PTHREAD_ONCE_INIT };

static void mhd_load(void)
{
	void *lib = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		lib = dlopen("libmicrohttpd.so", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		mhd.error = dlerror();
		return;
	}
	/* The library stays loaded for the life of the process. */
	*(void **)&mhd.start_daemon = dlsym(lib, "MHD_start_daemon");
	*(void **)&mhd.stop_daemon = dlsym(lib, "MHD_stop_daemon");
	*(void **)&mhd.quiesce_daemon = dlsym(lib, "MHD_quiesce_daemon");
	*(void **)&mhd.create_response_from_buffer =
		dlsym(lib, "MHD_create_response_from_buffer");
	*(void **)&mhd.add_response_header =
		dlsym(lib, "MHD_add_response_header");
	*(void **)&mhd.queue_response = dlsym(lib, "MHD_queue_response");
	*(void **)&mhd.destroy_response = dlsym(lib, "MHD_destroy_response");
	if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.quiesce_daemon ||
	    !mhd.create_response_from_buffer || !mhd.add_response_header ||
	    !mhd.queue_response || !mhd.destroy_response)
		mhd.error = "a function is missing from it";
}

struct api {
	struct MHD_Daemon *mhd;
	const struct api_ops *ops;
	void *opaque;
	/* The socket file as bind() created it, so that only it is removed. */
	dev_t dev;
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* Open connections, so that api_stop() lets answers go out. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned open;
};

/* One request while its body arrives. */
struct api_req {
	size_t received; /* body bytes, kept or not */
	char body[API_MAX_BODY];
};

/* The response a route produces. */
struct reply {
	unsigned status;
	json_t *body;	 /* owned; NULL for none */
	bool deprecated; /* a deprecated field was used */
};

/*
 * A JSON string for text that may not be UTF-8 (a URL, a message cut in
 * the middle of a character, a callback's path): as it is when valid,
 * otherwise with every byte outside printable ASCII replaced by '?'.
 */
static json_t *json_text(const char *s)
{
	char safe[API_MSG_MAX];
	json_t *j = json_string(s);
	size_t i;

	if (j)
		return j;
	for (i = 0; s[i] && i < sizeof(safe) - 1; i++)
		safe[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	safe[i] = '\0';
	return json_string(safe);
}

static void set_fault(struct reply *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* r becomes status with {"fault_message": fmt...}. */
static void set_fault(struct reply *r, unsigned status, const char *fmt, ...)
{
	char msg[API_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(r->body);
	r->status = status;
	/* NULL when out of memory: send_reply() has a fallback. */
	r->body = json_pack("{s:o}", "fault_message", json_text(msg));
}

/* A body that could not be decoded into the route's fields. */
#define bad_body(r, fmt, ...)                                                  \
	set_fault(r, MHD_HTTP_BAD_REQUEST,                                     \
		  "An error occurred when deserializing the json body of a "   \
		  "request: " fmt ".",                                         \
		  __VA_ARGS__)

/* The outcome of a callback: 204, or 400 with its message. */
static void set_result(struct reply *r, int rc, const char *err)
{
	if (rc == 0) {
		r->status = MHD_HTTP_NO_CONTENT;
		return;
	}
	if (err[0])
		set_fault(r, MHD_HTTP_BAD_REQUEST, "%s", err);
	else
		set_fault(r, MHD_HTTP_BAD_REQUEST, "%s",
			  strerror(rc < 0 ? -rc : rc));
}

/* Fields of a JSON object, as serde would derive them. */
enum field_type { FIELD_STRING, FIELD_BOOL, FIELD_OBJECT };

struct field {
	const char *name;
	enum field_type type;
	bool required;
};

static const char *const type_names[] = {
	[FIELD_STRING] = "a string",
	[FIELD_BOOL] = "a boolean",
	[FIELD_OBJECT] = "an object",
};

static bool has_type(const json_t *v, enum field_type t)
{
	switch (t) {
	case FIELD_STRING:
		return json_is_string(v);
	case FIELD_BOOL:
		return json_is_boolean(v);
	case FIELD_OBJECT:
		return json_is_object(v);
	}
	return false;
}

/*
 * Check obj against fields[n]: no unknown field, each known one of its
 * type, the required ones present. `in` names the enclosing object for
 * messages about a nested one ("" at the top). Return: 0, or -EINVAL with
 * the fault set in r.
 */
static int check_fields(struct reply *r, const json_t *obj,
			const struct field *fields, size_t n, const char *in)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, key, v)
	{
		for (i = 0; i < n && strcmp(key, fields[i].name); i++)
			;
		if (i == n) {
			char names[256] = "";
			size_t len = 0;

			for (i = 0; i < n && len < sizeof(names); i++)
				len += snprintf(names + len,
						sizeof(names) - len, "%s`%s`",
						i ? ", " : "", fields[i].name);
			bad_body(r, "unknown field `%s`%s, expected one of %s",
				 key, in, names);
			return -EINVAL;
		}
		if (!has_type(v, fields[i].type)) {
			bad_body(r,
				 "invalid type for field `%s`%s: expected %s",
				 key, in, type_names[fields[i].type]);
			return -EINVAL;
		}
	}
	for (i = 0; i < n; i++) {
		if (fields[i].required &&
		    !json_object_get(obj, fields[i].name)) {
			bad_body(r, "missing field `%s`%s", fields[i].name, in);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The index in names[] of obj's string field `key` (already checked to
 * be a string), or def when it is absent. Every enum here has two values.
 * Return: 0, or -EINVAL with the fault set in r for any other value.
 */
static int get_enum(struct reply *r, const json_t *obj, const char *key,
		    const char *const names[2], int def, int *out)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	int i;

	*out = def;
	if (!v)
		return 0;
	s = json_string_value(v);
	for (i = 0; i < 2; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	bad_body(r,
		 "unknown variant `%s` for field `%s`, expected `%s` or `%s`",
		 s, key, names[0], names[1]);
	return -EINVAL;
}

static const char *get_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool get_bool(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

/* GET / */
static void route_info(struct api *a, const json_t *body, struct reply *r)
{
	static const char *const states[] = {
		[API_STATE_NOT_STARTED] = "Not started",
		[API_STATE_RUNNING] = "Running",
		[API_STATE_PAUSED] = "Paused",
	};
	struct api_info info = { .state = API_STATE_NOT_STARTED };

	(void)body;
	snprintf(info.id, sizeof(info.id), "anonymous-instance");
	snprintf(info.vmm_version, sizeof(info.vmm_version), "unknown");
	if (a->ops->info)
		a->ops->info(a->opaque, &info);
	/* The callback may have filled the arrays to the last byte. */
	info.id[sizeof(info.id) - 1] = '\0';
	info.vmm_version[sizeof(info.vmm_version) - 1] = '\0';
	if ((unsigned)info.state >= ARRAY_SIZE(states))
		info.state = API_STATE_NOT_STARTED;

	r->status = MHD_HTTP_OK;
	r->body = json_pack("{s:o, s:s, s:o, s:s}", "id", json_text(info.id),
			    "state", states[info.state], "vmm_version",
			    json_text(info.vmm_version), "app_name", "minivmm");
}

/* PATCH /vm */
static void route_vm(struct api *a, const json_t *body, struct reply *r)
{
	static const struct field fields[] = {
		{ "state", FIELD_STRING, true },
	};
	static const char *const states[] = { "Paused", "Resumed" };
	char err[API_MSG_MAX] = "";
	int state, rc;

	if (check_fields(r, body, fields, ARRAY_SIZE(fields), "") ||
	    get_enum(r, body, "state", states, 0, &state))
		return;
	if (state == 0 && a->ops->pause)
		rc = a->ops->pause(a->opaque, err, sizeof(err));
	else if (state == 1 && a->ops->resume)
		rc = a->ops->resume(a->opaque, err, sizeof(err));
	else
		rc = -ENOTSUP;
	err[sizeof(err) - 1] = '\0';
	set_result(r, rc, err);
}

/* PUT /snapshot/create */
static void route_create(struct api *a, const json_t *body, struct reply *r)
{
	static const struct field fields[] = {
		{ "snapshot_type", FIELD_STRING, false },
		{ "snapshot_path", FIELD_STRING, true },
		{ "mem_file_path", FIELD_STRING, true },
	};
	static const char *const types[] = { "Full", "Diff" };
	struct api_snapshot_create req;
	char err[API_MSG_MAX] = "";
	int type, rc = -ENOTSUP;

	if (check_fields(r, body, fields, ARRAY_SIZE(fields), "") ||
	    get_enum(r, body, "snapshot_type", types, 0, &type))
		return;
	req = (struct api_snapshot_create){
		.type = type ? API_SNAPSHOT_DIFF : API_SNAPSHOT_FULL,
		.snapshot_path = get_string(body, "snapshot_path"),
		.mem_file_path = get_string(body, "mem_file_path"),
	};
	if (a->ops->snapshot_create)
		rc = a->ops->snapshot_create(a->opaque, &req, err, sizeof(err));
	err[sizeof(err) - 1] = '\0';
	set_result(r, rc, err);
}

/* PUT /snapshot/load */
static void route_load(struct api *a, const json_t *body, struct reply *r)
{
	static const struct field fields[] = {
		{ "snapshot_path", FIELD_STRING, true },
		{ "mem_backend", FIELD_OBJECT, false },
		{ "mem_file_path", FIELD_STRING, false }, /* deprecated */
		{ "track_dirty_pages", FIELD_BOOL, false },
		{ "enable_diff_snapshots", FIELD_BOOL, false }, /* deprecated */
		{ "resume_vm", FIELD_BOOL, false },
	};
	static const struct field backend_fields[] = {
		{ "backend_type", FIELD_STRING, true },
		{ "backend_path", FIELD_STRING, true },
	};
	static const char *const backends[] = { "File", "Uffd" };
	const json_t *backend = json_object_get(body, "mem_backend");
	const char *mem_file = get_string(body, "mem_file_path");
	struct api_snapshot_load req;
	char err[API_MSG_MAX] = "";
	int type = 0, rc = -ENOTSUP;

	if (check_fields(r, body, fields, ARRAY_SIZE(fields), ""))
		return;
	if (backend && mem_file) {
		bad_body(r, "%s",
			 "too many fields: either `mem_backend` or "
			 "`mem_file_path` exclusively is required");
		return;
	}
	if (!backend && !mem_file) {
		bad_body(r, "%s",
			 "missing field: either `mem_backend` or "
			 "`mem_file_path` is required");
		return;
	}
	if (backend &&
	    (check_fields(r, backend, backend_fields,
			  ARRAY_SIZE(backend_fields), " in `mem_backend`") ||
	     get_enum(r, backend, "backend_type", backends, 0, &type)))
		return;

	req = (struct api_snapshot_load){
		.snapshot_path = get_string(body, "snapshot_path"),
		.backend_type = type ? API_BACKEND_UFFD : API_BACKEND_FILE,
		.backend_path = backend ? get_string(backend, "backend_path")
					: mem_file,
		.track_dirty_pages = get_bool(body, "track_dirty_pages") ||
				     get_bool(body, "enable_diff_snapshots"),
		.resume_vm = get_bool(body, "resume_vm"),
	};
	r->deprecated =
		mem_file || json_object_get(body, "enable_diff_snapshots");
	if (a->ops->snapshot_load)
		rc = a->ops->snapshot_load(a->opaque, &req, err, sizeof(err));
	err[sizeof(err) - 1] = '\0';
	set_result(r, rc, err);
}

/* PUT /migrate */
static void route_migrate(struct api *a, const json_t *body, struct reply *r)
{
	static const struct field fields[] = {
		{ "destination_url", FIELD_STRING, true },
	};
	char err[API_MSG_MAX] = "";
	int rc = -ENOTSUP;

	if (check_fields(r, body, fields, ARRAY_SIZE(fields), ""))
		return;
	if (a->ops->migrate)
		rc = a->ops->migrate(a->opaque,
				     get_string(body, "destination_url"), err,
				     sizeof(err));
	err[sizeof(err) - 1] = '\0';
	set_result(r, rc, err);
}

/* GET /migrate */
static void route_migration(struct api *a, const json_t *body,
			    struct reply *r)
{
	static const char *const states[] = {
		[API_MIGRATION_NONE] = "none",
		[API_MIGRATION_ACTIVE] = "active",
		[API_MIGRATION_COMPLETED] = "completed",
		[API_MIGRATION_FAILED] = "failed",
	};
	struct api_migration mig;

	(void)body;
	memset(&mig, 0, sizeof(mig));
	if (a->ops->migration)
		a->ops->migration(a->opaque, &mig);
	mig.fault_message[sizeof(mig.fault_message) - 1] = '\0';
	if ((unsigned)mig.state >= ARRAY_SIZE(states))
		mig.state = API_MIGRATION_NONE;
	r->status = MHD_HTTP_OK;
	r->body = json_pack("{s:s, s:I, s:I, s:I, s:f, s:f}", "state",
			    states[mig.state], "bytes_sent",
			    (json_int_t)mig.bytes_sent, "rounds",
			    (json_int_t)mig.rounds, "dirty_pages",
			    (json_int_t)mig.dirty_pages, "total_time_ms",
			    mig.total_ms, "downtime_ms", mig.downtime_ms);
	if (r->body && mig.fault_message[0])
		json_object_set_new(r->body, "fault_message",
				    json_text(mig.fault_message));
}

static const struct route {
	const char *method;
	const char *path;
	void (*fn)(struct api *a, const json_t *body, struct reply *r);
} routes[] = {
	{ MHD_HTTP_METHOD_GET, "/", route_info },
	{ MHD_HTTP_METHOD_PATCH, "/vm", route_vm },
	{ MHD_HTTP_METHOD_PUT, "/snapshot/create", route_create },
	{ MHD_HTTP_METHOD_PUT, "/snapshot/load", route_load },
	{ MHD_HTTP_METHOD_PUT, "/migrate", route_migrate },
	{ MHD_HTTP_METHOD_GET, "/migrate", route_migration },
};

/*
 * Decide the response to a complete request. The checks come in
 * Firecracker's order, so that a request that is wrong in two ways gets
 * the same message from both.
 */
static void handle(struct api *a, const char *method, const char *url,
		   const char *data, size_t received, struct reply *r)
{
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET);
	bool put = !strcmp(method, MHD_HTTP_METHOD_PUT) ||
		   !strcmp(method, MHD_HTTP_METHOD_PATCH);
	const struct route *route = NULL;
	json_error_t jerr;
	json_t *body;
	size_t i;

	if (received > API_MAX_BODY) {
		set_fault(r, MHD_HTTP_BAD_REQUEST,
			  "Request payload with size %zu is larger than the "
			  "limit of %d allowed by server.",
			  received, API_MAX_BODY);
		return;
	}
	if (get && received) {
		set_fault(r, MHD_HTTP_BAD_REQUEST,
			  "GET request cannot have a body.");
		return;
	}
	if (put && !received) {
		set_fault(r, MHD_HTTP_BAD_REQUEST, "Empty %s request.", method);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!strcmp(method, routes[i].method) &&
		    !strcmp(url, routes[i].path))
			route = &routes[i];
	}
	if (!route) {
		set_fault(r, MHD_HTTP_BAD_REQUEST,
			  "Invalid request method and/or path: %s %s.", method,
			  url);
		return;
	}
	if (get) {
		route->fn(a, NULL, r);
		return;
	}
	/*
	 * serde_json rejects a repeated key; jansson keeps the last one
	 * unless told. JSON_ALLOW_NUL is not given, so no string reaching
	 * a callback has a NUL inside.
	 */
	body = json_loadb(data, received, JSON_REJECT_DUPLICATES, &jerr);
	if (!body) {
		bad_body(r, "%s at line %d column %d", jerr.text, jerr.line,
			 jerr.column);
		return;
	}
	if (!json_is_object(body))
		bad_body(r, "%s", "invalid type: expected a JSON object");
	else
		route->fn(a, body, r);
	json_decref(body);
}

void api_handle(const struct api_ops *ops, void *opaque, const char *method,
		const char *url, const char *body, size_t len,
		struct api_response *out)
{
	/* The routes reach the VMM only through ops and opaque. */
	struct api a = { .ops = ops, .opaque = opaque };
	struct reply r = { 0 };

	handle(&a, method, url, body, len, &r);
	out->status = r.status;
	out->deprecated = r.deprecated;
	out->body = NULL;
	if (r.body) {
		out->body = json_dumps(r.body, JSON_COMPACT);
		json_decref(r.body);
	}
	/* A JSON value could not be built or printed. */
	if (!out->body && out->status != MHD_HTTP_NO_CONTENT)
		out->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* Queue the response r on c. */
static enum MHD_Result send_reply(struct MHD_Connection *c,
				  const struct api_response *r)
{
	static const char oom[] = "{\"fault_message\":\"Out of memory.\"}";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->body)
		resp = mhd.create_response_from_buffer(strlen(r->body), r->body,
						       MHD_RESPMEM_MUST_COPY);
	else if (r->status == MHD_HTTP_NO_CONTENT)
		resp = mhd.create_response_from_buffer(0, NULL,
						       MHD_RESPMEM_PERSISTENT);
	else
		resp = mhd.create_response_from_buffer(
			sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "application/json") != MHD_YES ||
	    (r->deprecated &&
	     mhd.add_response_header(resp, "Deprecation", "true") != MHD_YES)) {
		mhd.destroy_response(resp);
		return MHD_NO;
	}
	ret = mhd.queue_response(c, r->status, resp);
	mhd.destroy_response(resp);
	return ret;
}

/*
 * libmicrohttpd calls this first when the headers are in, then once per
 * piece of the body, then once more with nothing when the request is
 * complete; only then may a response be queued. Returning MHD_NO closes
 * the connection without one.
 */
static enum MHD_Result api_access(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **req_cls)
{
	struct api *a = cls;
	struct api_req *req = *req_cls;
	struct api_response resp;
	enum MHD_Result ret;

	(void)version;
	if (!req) {
		req = malloc(sizeof(*req));
		if (!req)
			return MHD_NO;
		req->received = 0;
		*req_cls = req;
		return MHD_YES;
	}
	if (*size) {
		/*
		 * A response cannot be queued while the body arrives, so an
		 * oversize body is read and dropped, and refused at the end:
		 * memory stays bounded whatever the client sends.
		 */
		if (req->received <= API_MAX_BODY &&
		    *size <= API_MAX_BODY - req->received)
			memcpy(req->body + req->received, data, *size);
		req->received = *size > SIZE_MAX - req->received
					? SIZE_MAX
					: req->received + *size;
		*size = 0;
		return MHD_YES;
	}
	api_handle(a->ops, a->opaque, method, url, req->body, req->received,
		   &resp);
	ret = send_reply(c, &resp);
	pr_debug("api: %s %s: %u", method, url, resp.status);
	free(resp.body);
	return ret;
}

static void api_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			  enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*req_cls);
	*req_cls = NULL;
}

static void api_connection(void *cls, struct MHD_Connection *c,
			   void **socket_ctx, enum MHD_ConnectionNotificationCode code)
{
	struct api *a = cls;

	(void)c;
	(void)socket_ctx;
	pthread_mutex_lock(&a->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		a->open++;
	else if (a->open)
		a->open--;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void api_log(void *cls, const char *fmt, va_list ap)
{
	char line[API_MSG_MAX];
	size_t len;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	pr_err("api: %s", line);
}

/* Remove the socket file if it is still the one bind() made. */
static void unlink_own(const struct api *a)
{
	struct stat st;

	/*
	 * Someone who can write the directory may have replaced it; theirs
	 * stays. (They could still swap it between lstat() and unlink():
	 * there is no unlink-this-inode call.)
	 */
	if (!lstat(a->path, &st) && st.st_dev == a->dev && st.st_ino == a->ino)
		unlink(a->path);
}

/* Bind and listen on a->path with mode 0600. Return: fd, or -errno. */
static int api_listen(struct api *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	memcpy(sa.sun_path, a->path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		pr_err("api: socket: %s", strerror(-ret));
		return ret;
	}
	/*
	 * Linux creates the socket file with the socket inode's mode less
	 * the umask: narrowing the inode first means the file never exists
	 * with more than 0600, without touching the process-wide umask
	 * under other threads.
	 */
	if (fchmod(fd, 0600)) {
		ret = -errno;
		pr_err("api: fchmod: %s", strerror(-ret));
		goto err_close;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		if (ret == -EADDRINUSE) {
			ret = -EEXIST;
			pr_err("api: %s already exists (remove it first if it "
			       "is a stale socket)",
			       a->path);
		} else {
			pr_err("api: bind %s: %s", a->path, strerror(-ret));
		}
		goto err_close;
	}
	if (lstat(a->path, &st)) {
		/* Removed under us: there is nothing of ours to remove. */
		ret = -errno;
		pr_err("api: %s: %s", a->path, strerror(-ret));
		goto err_close;
	}
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	if (!S_ISSOCK(st.st_mode) || (st.st_mode & 077)) {
		ret = -EPERM;
		pr_err("api: %s: the socket is not private (mode %o)", a->path,
		       (unsigned)(st.st_mode & 07777));
		goto err_unlink;
	}
	/* A umask may also have taken the owner's bits: give them back. */
	if ((st.st_mode & 0600) != 0600 && chmod(a->path, 0600)) {
		ret = -errno;
		pr_err("api: chmod %s: %s", a->path, strerror(-ret));
		goto err_unlink;
	}
	if (listen(fd, API_BACKLOG)) {
		ret = -errno;
		pr_err("api: listen: %s", strerror(-ret));
		goto err_unlink;
	}
	return fd;

err_unlink:
	unlink_own(a);
err_close:
	close(fd);
	return ret;
}

int api_start(const char *path, const struct api_ops *ops, void *opaque,
	      struct api **out)
{
	struct stat sock, now;
	struct api *a;
	int fd, ret = 0;

	if (!path || !ops || !out || !path[0])
		return -EINVAL;
	if (strlen(path) >= sizeof(a->path)) {
		pr_err("api: socket path longer than %zu bytes: %s",
		       sizeof(a->path) - 1, path);
		return -EINVAL;
	}
	pthread_once(&mhd.once, mhd_load);
	if (mhd.error) {
		pr_err("api: cannot load libmicrohttpd: %s", mhd.error);
		return -ENOTSUP;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->ops = ops;
	a->opaque = opaque;
	strcpy(a->path, path);

	fd = api_listen(a);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	if (fstat(fd, &sock)) {
		ret = -errno;
		goto err_close;
	}
	/*
	 * One thread per connection (at most API_MAX_CONNECTIONS), so that
	 * GET /migrate is answered while PUT /migrate waits for the
	 * destination; the VMM serializes what changes the machine. Options
	 * are read in order: the logger first, so that start-up messages use
	 * it. One option and its arguments per line.
	 */
	/* clang-format off */
	a->mhd = mhd.start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
		0, NULL, NULL, api_access, a,
		MHD_OPTION_EXTERNAL_LOGGER, api_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, api_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, api_connection, a,
		MHD_OPTION_END);
	/* clang-format on */
	if (!a->mhd) {
		ret = -EIO;
		pr_err("api: cannot start the HTTP server on %s", path);
		goto err_close_if_open;
	}
	*out = a;
	return 0;

err_close_if_open:
	/*
	 * Whether a failed start has closed the socket depends on where it
	 * failed. Close it only if the descriptor still is that socket, not
	 * a newer file that took its number.
	 */
	if (fstat(fd, &now) || now.st_dev != sock.st_dev ||
	    now.st_ino != sock.st_ino)
		goto err_unlink;
err_close:
	close(fd);
err_unlink:
	unlink_own(a);
err_free:
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
	return ret;
}

void api_stop(struct api *a)
{
	struct timespec until;
	int listen_fd;

	if (!a)
		return;
	/* First, so that no new client finds the socket by its name. */
	unlink_own(a);
	/*
	 * Stop accepting, then give answers being sent (a PUT /migrate that
	 * ended the VM is answered after its callback returned) a moment to
	 * go out before the connections are closed.
	 */
	listen_fd = mhd.quiesce_daemon(a->mhd);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += API_STOP_WAIT_S;
	pthread_mutex_lock(&a->lock);
	while (a->open &&
	       pthread_cond_timedwait(&a->cond, &a->lock, &until) == 0)
		;
	pthread_mutex_unlock(&a->lock);
	/*
	 * Waits for the server's threads, so for a running callback, then
	 * closes every connection. The listening socket is ours once
	 * quiesced.
	 */
	mhd.stop_daemon(a->mhd);
	if (listen_fd >= 0)
		close(listen_fd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}
