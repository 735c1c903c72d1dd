/*
 * The integration harness: runs tests/stack/pawl-stack (PostgreSQL, Redis,
 * pawl-fcgi, nginx) on free loopback ports in a temporary state folder and
 * talks HTTP to it through libcurl. Black-box only: nothing here links pawl.
 */
#ifndef PAWL_TEST_HARNESS_H
#define PAWL_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

struct http_header {
	char *name;
	char *value;                  /* trimmed, without the CR LF */
};

/* One response. Owned by the caller; release with http_resp_free(). */
struct http_resp {
	long status;                  /* 0 when the request never got an answer */
	char *body;                   /* always NUL-terminated, body_len bytes */
	size_t body_len;
	json_object *json;            /* the parsed body, NULL when not JSON */
	struct http_header *headers;  /* of the final response, in order */
	size_t nheaders;
	char what[200];               /* "METHOD path", for messages */
	char error[256];              /* libcurl's message when status is 0 */
};

/*
 * Starts the stack and waits (up to 90 s) for /v1/__lbheartbeat__. Reads
 * PAWL_BIN and PAWL_SRCDIR from the environment, sets PAWL_STATE_DIR and the
 * PAWL_*_PORT variables for itself and for the pawl-stack subcommands.
 * Returns 0, or -1 after printing why.
 */
int harness_start(void);

/*
 * Sends SIGTERM to the stack and waits for it. Returns its exit status (0 on a
 * clean stop), -1 if it had to be killed or was not running. Idempotent.
 */
int harness_stop(void);

/*
 * Stops the stack if needed; removes the state folder when ok is true, else
 * keeps it and prints its path and the end of every log.
 */
void harness_finish(bool ok);

const char *harness_state_dir(void);
const char *harness_base_url(void);   /* "http://127.0.0.1:PORT", no slash */
int harness_workers(void);

/* Runs "pawl-stack SUBCOMMAND" (pg-stop, pg-start, ...); returns its exit status. */
int harness_stack(const char *subcommand);

/*
 * Runs sql with psql on the stack's PostgreSQL (database pawl, as postgres);
 * the first line of its output goes to out when out is not NULL. True when
 * psql exited 0.
 */
bool harness_psql(const char *sql, char *out, size_t size);

/* The value of key in the stack's pawl.ini ("" when absent), into out. */
void harness_ini_value(const char *key, char *out, size_t size);

/*
 * Sends one request to the stack's nginx. path starts with '/' and is sent as
 * is (no normalisation, no encoding). headers: NULL or a NULL-terminated array
 * of "Name: value". body: NULL for none; a body gets "Content-Type:
 * application/json" unless headers name one. Returns 0 when a response
 * arrived (any status), -1 otherwise. resp is always initialised.
 */
int http_request(const char *method, const char *path, const char *const *headers,
		 const char *body, struct http_resp *resp);

/* Same with an explicit body length, and "Transfer-Encoding: chunked" if chunked. */
int http_request_ex(const char *method, const char *path, const char *const *headers,
		    const char *body, size_t body_len, bool chunked, struct http_resp *resp);

/* GET path with no header; returns the status (0 on transport failure). */
long http_status(const char *path);

void http_resp_free(struct http_resp *resp);

/* The value of the first header called name (any case), or NULL. */
const char *resp_header(const struct http_resp *resp, const char *name);

/* How many headers called name (any case) the response has. */
size_t resp_header_count(const struct http_resp *resp, const char *name);

/* The member at a dotted path ("settings.readonly") of resp->json, or NULL. */
json_object *resp_json(const struct http_resp *resp, const char *path);

/* Writes "Authorization: Basic <base64(user:password)>" into out. */
void basic_auth(char *out, size_t size, const char *user, const char *password);

/* A fresh id accepted by Kinto: prefix + pid + counter (e.g. "b1234x7"). */
void unique_id(char *out, size_t size, const char *prefix);

/* CLOCK_MONOTONIC in milliseconds: for deadlines and for saying how long a step took. */
long harness_now_ms(void);

void sleep_ms(long ms);

/* The pid on the first line of $STATE/RELATIVE (e.g. "run/nginx.pid"), or -1. */
pid_t harness_pid_file(const char *relative);

/* The supervisor's pid from $STATE/run/pawl.pid, or -1. */
pid_t supervisor_pid(void);

/* Live (non-zombie) children of parent, up to max; returns how many. */
size_t children_of(pid_t parent, pid_t *out, size_t max);

/*
 * n distinct free ports of 127.0.0.1 (bound at once, then closed again: a
 * small race, harmless in tests), n at most HARNESS_FREE_PORTS_MAX; 0 or -1.
 */
#define HARNESS_FREE_PORTS_MAX 16
int harness_free_ports(int *ports, int n);

/* True while pid exists and is not a zombie. */
bool pid_alive(pid_t pid);

/*
 * SIGSTOP, then waits (up to 5 s) until pid is seen stopped. kill() returns
 * before the target has stopped: a worker still parked in epoll_wait can be
 * handed the next connection by EPOLLEXCLUSIVE and then stop holding it.
 * False when the signal failed or the process never showed as stopped.
 */
bool stop_process(pid_t pid);

/*
 * Assertions with the caller's file and line, recorded as CUnit failures.
 * assert_status: resp->status == status (prints the body when not).
 * assert_json_type: resp is application/json and its body parses.
 * assert_error: the status, and the error document {code == status,
 * errno == err_no, error: string, message: string}.
 * assert_location: a 307 whose Location is want (or base URL + want).
 */
void assert_status_at(const struct http_resp *resp, long status, const char *file, unsigned line);
void assert_json_type_at(const struct http_resp *resp, const char *file, unsigned line);
void assert_error_at(const struct http_resp *resp, long status, int err_no, const char *file,
		     unsigned line);
void assert_location_at(const struct http_resp *resp, const char *want, const char *file,
			unsigned line);

#define assert_status(r, s) assert_status_at((r), (s), __FILE__, __LINE__)
#define assert_json_type(r) assert_json_type_at((r), __FILE__, __LINE__)
#define assert_error(r, s, e) assert_error_at((r), (s), (e), __FILE__, __LINE__)
#define assert_location(r, w) assert_location_at((r), (w), __FILE__, __LINE__)

/* The body on one printable line, cut at about 190 characters (for messages;
 * the last four results stay valid). */
const char *body_snip(const struct http_resp *resp);

/* Records a failure with a formatted message at the caller's line. */
void check_at(bool ok, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define CHECK(ok, ...) check_at((ok), __FILE__, __LINE__, __VA_ARGS__)

/* In the state folder: while it exists, fault-injection builds' workers fail at start. */
#define HARNESS_FAULT_START "fault-worker-start"

/* Suite registration, one per test file. */
void test_service_register(void);
void test_errors_register(void);
void test_supervisor_register(void);
void test_security_authz_register(void);
void test_storage_register(void);
void test_batch_http_register(void);
void test_objects_register(void);
void test_lists_register(void);
void test_concurrency_register(void);
void test_events_register(void);
void test_impacted_register(void);
void test_history_register(void);
void test_txn_register(void);
void test_security_headers_register(void);
void test_delivery_register(void);
void test_consumers_register(void);
void test_streams_register(void);
void test_stream_group_register(void);
void test_permissions_register(void);
void test_permissions_endpoint_register(void);
void test_extras_register(void);
void test_pg_register(void);
void test_security_proxy_register(void);
void test_truth_register(void);
void test_admin_register(void);
void test_indexer_register(void);
void test_catchup_register(void);
void test_accounts_register(void);
void test_metrics_register(void);
void test_systemd_register(void);
void test_logs_register(void);
void test_sentinel_register(void);
void test_isolation_register(void);
void test_migrate_register(void);
void test_replica_register(void);

#endif
