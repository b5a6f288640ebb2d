/* SPDX-License-Identifier: MIT */
/*
 * api.h - the control API: the part of Firecracker's HTTP/JSON API that
 * applies to minivmm, served on a Unix socket (--api-socket PATH), so that
 *
 *	curl --unix-socket PATH -X PATCH -d '{"state":"Paused"}' \
 *		http://localhost/vm
 *
 * works as it does against Firecracker. The module speaks HTTP (through
 * libmicrohttpd) and JSON (through jansson), validates each request, and
 * calls the VMM through a table of callbacks; it knows nothing about the
 * machine itself.
 *
 * Routes (paths, fields and status codes as in Firecracker's swagger):
 *
 *	GET /			200 {"id", "state", "vmm_version", "app_name"}
 *	PATCH /vm		{"state": "Paused" | "Resumed"}
 *	PUT /snapshot/create	{"snapshot_type": "Full" | "Diff" (default
 *				"Full"), "snapshot_path", "mem_file_path"}
 *	PUT /snapshot/load	{"snapshot_path", "mem_backend":
 *				{"backend_type": "File" | "Uffd",
 *				"backend_path"}, "track_dirty_pages" (default
 *				false), "resume_vm" (default false)}
 *
 * A successful PATCH or PUT answers 204 No Content. /snapshot/load also
 * takes Firecracker's deprecated forms, "mem_file_path" instead of
 * "mem_backend" (a File backend; exactly one of the two must be present)
 * and "enable_diff_snapshots" for "track_dirty_pages"; their responses
 * carry a "Deprecation: true" header. Fields Firecracker has but minivmm
 * cannot honour (network_overrides, vsock_override, clock_realtime) are
 * unknown fields here.
 *
 * Every error is 400 Bad Request with {"fault_message": "..."}, as in
 * Firecracker: malformed JSON, a body that is not an object, a field of
 * the wrong type, a missing required field, an unknown field (Firecracker
 * denies unknown fields), a duplicate field, an unknown enum value, a
 * GET with a body, a PUT or PATCH without one, a body over
 * API_MAX_BODY bytes, an unknown path or a method a path does not take
 * (Firecracker answers 400 there too, not 404 or 405), and a callback's
 * failure, whose message becomes the fault message. Paths match exactly:
 * no trailing slash, no extra segments; a query string is ignored. Every
 * response is Content-Type: application/json.
 *
 * The socket file is created with mode 0600 whatever the umask: whoever
 * can connect controls the VM. api_start() refuses a path where anything
 * exists, a stale socket of an earlier run included, as Firecracker does:
 * whoever starts the VMM removes it first.
 *
 * Limits: at most API_MAX_CONNECTIONS connections at a time, each closed
 * after API_TIMEOUT_S seconds without traffic; request headers are capped
 * by libmicrohttpd's per-connection memory limit.
 *
 * Threads: the server runs on one thread of its own and handles one
 * request at a time. The callbacks run on that thread and may block until
 * the VMM has done the work; other clients wait meanwhile.
 */
#ifndef MINIVMM_API_H
#define MINIVMM_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api;

/* Largest request body accepted, in bytes; larger ones get a 400. */
#define API_MAX_BODY (16 * 1024)
/* Connections served at once; more wait in the listen backlog. */
#define API_MAX_CONNECTIONS 8
/* Seconds a connection may stay idle before it is closed. */
#define API_TIMEOUT_S 30

/* Sizes of the strings of struct api_info, NUL included. */
#define API_ID_MAX 64
#define API_VERSION_MAX 32

/* The machine's state as GET / reports it. */
enum api_state {
	API_STATE_NOT_STARTED, /* "Not started" */
	API_STATE_RUNNING,     /* "Running" */
	API_STATE_PAUSED,      /* "Paused" */
};

/*
 * What GET / reports. Before info() runs, state is API_STATE_NOT_STARTED,
 * id "anonymous-instance" (Firecracker's default) and vmm_version
 * "unknown"; info() changes what it knows. Strings longer than their
 * array are cut at the array's size minus one.
 */
struct api_info {
	enum api_state state;
	char id[API_ID_MAX];
	char vmm_version[API_VERSION_MAX];
};

enum api_snapshot_type {
	API_SNAPSHOT_FULL, /* "Full": all of guest memory */
	API_SNAPSHOT_DIFF, /* "Diff": pages dirtied since the last one */
};

/* PUT /snapshot/create. The strings live until the callback returns. */
struct api_snapshot_create {
	enum api_snapshot_type type;
	const char *snapshot_path; /* the machine's state */
	const char *mem_file_path; /* guest memory */
};

enum api_mem_backend {
	API_BACKEND_FILE, /* "File": backend_path is the memory file */
	API_BACKEND_UFFD, /* "Uffd": backend_path is a page-fault
			   * handler's Unix socket; the VMM may refuse */
};

/* PUT /snapshot/load. The strings live until the callback returns. */
struct api_snapshot_load {
	const char *snapshot_path;
	enum api_mem_backend backend_type;
	const char *backend_path;
	bool track_dirty_pages;
	bool resume_vm;
};

/* GET /migrate: a migration's progress, as the source sees it. */
enum api_migration_state {
	API_MIGRATION_NONE,	 /* "none": never started */
	API_MIGRATION_ACTIVE,	 /* "active" */
	API_MIGRATION_COMPLETED, /* "completed": the destination runs */
	API_MIGRATION_FAILED,	 /* "failed": the guest runs here still */
};

struct api_migration {
	enum api_migration_state state;
	uint64_t bytes_sent;	/* stream bytes so far */
	uint64_t rounds;	/* pre-copy rounds done */
	uint64_t dirty_pages;	/* pages left to send at the last count */
	double total_ms;	/* start to the destination's answer */
	double downtime_ms;	/* pause to the destination's answer */
	char fault_message[256];	/* why it failed */
};

/*
 * What the VMM does for the API. Each callback runs on the server's
 * thread, one at a time, and may block until the work is done. The
 * int-returning ones return 0 on success (the client gets 204), or a
 * negative errno after writing a message for the client into err (at most
 * errlen bytes, NUL included; errlen is at least 256). The client then
 * gets 400 with that message; if err was left empty, with strerror(-rc).
 * A NULL callback fails with -ENOTSUP ("Operation not supported"); a NULL
 * info() leaves the pre-filled answer. The module checks the request's
 * form, not whether the machine is in a state that allows it: that is the
 * VMM's to decide and to explain in err.
 */
struct api_ops {
	/* GET /: fill in what is known; out arrives pre-filled. */
	void (*info)(void *opaque, struct api_info *out);
	/* PATCH /vm {"state": "Paused"}. */
	int (*pause)(void *opaque, char *err, size_t errlen);
	/* PATCH /vm {"state": "Resumed"}. */
	int (*resume)(void *opaque, char *err, size_t errlen);
	int (*snapshot_create)(void *opaque,
			       const struct api_snapshot_create *req, char *err,
			       size_t errlen);
	int (*snapshot_load)(void *opaque, const struct api_snapshot_load *req,
			     char *err, size_t errlen);
	/* PUT /migrate {"destination_url": url}: returns when the
	 * destination runs the guest (0) or the guest runs here still. */
	int (*migrate)(void *opaque, const char *url, char *err,
		       size_t errlen);
	/* GET /migrate: fill in the progress; out arrives zeroed. */
	void (*migration)(void *opaque, struct api_migration *out);
};

/* The response to one request, as api_handle() decides it. */
struct api_response {
	unsigned status; /* HTTP status: 200, 204, 400, or 500 */
	/* JSON text from malloc(), for the caller to free(); NULL for none
	 * (204), or with 500 when it could not be built (out of memory). */
	char *body;
	bool deprecated; /* a deprecated field was used: "Deprecation: true" */
};

/*
 * Decide the response to one complete request: the server calls this for
 * every request once its body is in, and tests and fuzzers call it with no
 * server at all.
 * @ops: the callbacks, called on this thread; @opaque: passed to them.
 * @method: the request method ("GET", "PUT", "PATCH", ...).
 * @url: the request path.
 * @body: the body, @len bytes; not read when @len is more than
 *        API_MAX_BODY (refused with 400), so a server may count the bytes
 *        of an oversize body without keeping them.
 * @out: receives the response.
 */
void api_handle(const struct api_ops *ops, void *opaque, const char *method,
		const char *url, const char *body, size_t len,
		struct api_response *out);

/*
 * Create the socket at path and start serving it on a thread of its own.
 * @path: where the socket file goes; nothing may exist there. Copied.
 * @ops: the callbacks; must stay valid until api_stop() returns.
 * @opaque: passed to every callback.
 * @out: receives the server.
 * Return: 0, or a negative errno; a message saying why goes to stderr.
 * Errors: -EINVAL (a NULL argument, an empty path or one longer than a
 * Unix socket address holds), -EEXIST (something exists at path),
 * -ENOMEM, -EPERM (the socket file could not be made private), the errno
 * of socket(2), bind(2) or listen(2) (-ENOENT for a missing directory,
 * -EACCES, ...), or -EIO when libmicrohttpd does not start. On failure
 * nothing is left behind: no socket file, no thread, no descriptor.
 */
int api_start(const char *path, const struct api_ops *ops, void *opaque,
	      struct api **out);

/*
 * Stop the server: wait for a running callback to return, close every
 * connection and the socket, and remove the socket file (only if it is
 * still the one api_start() created). Must not be called from a callback,
 * and a callback blocked on the caller's thread must be released first
 * (or it is a deadlock). NULL: no-op.
 */
void api_stop(struct api *a);

#endif /* MINIVMM_API_H */
