/*
 * Building responses: headers checked for control characters (so a value
 * taken from a request can never split the response), JSON bodies, and the
 * one function that shapes every error body (docs/protocol.md §7).
 */
#include <string.h>


#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "http/response.h"

void pawl_response_init(struct pawl_response *resp, struct pawl_arena *arena)
{
	memset(resp, 0, sizeof(*resp));
	resp->arena = arena;
	resp->status = 200;
	pawl_buf_init(&resp->body, arena);
}

static void fail(struct pawl_response *resp, enum pawl_err code, const char *name)
{
	if (resp->failed != PAWL_OK)
		return;
	resp->failed = code;
	resp->failed_on = name;
}

void pawl_response_header(struct pawl_response *resp, const char *name, const char *value)
{
	size_t i;

	if (resp->failed != PAWL_OK)
		return;
	if (name == NULL || pawl_str_has_ctl(name) || strchr(name, ':') != NULL ||
	    (value != NULL && pawl_str_has_ctl(value))) {
		fail(resp, PAWL_ERR_INTERNAL, name);
		return;
	}
	if (value == NULL) {
		fail(resp, PAWL_ERR_NOMEM, name);
		return;
	}
	for (i = 0; i < resp->n_headers; i++) {
		if (pawl_str_ieq(resp->headers[i].name, name)) {
			resp->headers[i].value = value;
			return;
		}
	}
	if (resp->n_headers == PAWL_RESPONSE_MAX_HEADERS) {
		fail(resp, PAWL_ERR_INTERNAL, name);
		return;
	}
	resp->headers[resp->n_headers].name = name;
	resp->headers[resp->n_headers].value = value;
	resp->n_headers++;
}

enum pawl_err pawl_response_failure(const struct pawl_response *resp)
{
	if (resp->failed != PAWL_OK)
		return resp->failed;
	return resp->body.failed ? PAWL_ERR_NOMEM : PAWL_OK;
}

void pawl_response_discard(struct pawl_response *resp, struct pawl_error *err)
{
	enum pawl_err code = pawl_response_failure(resp);
	const char *on = resp->failed_on, *rid;

	if (code == PAWL_ERR_NOMEM)
		pawl_error_set(err, code, "out of memory building the response%s%s",
		    on ? " at header " : "", on ? on : "");
	else
		pawl_error_set(err, code, "response header refused: %s", on ? on : "(none)");
	rid = resp->request_id;
	pawl_response_init(resp, resp->arena);
	resp->request_id = rid;
}

const char *pawl_response_get_header(const struct pawl_response *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->n_headers; i++)
		if (pawl_str_ieq(resp->headers[i].name, name))
			return resp->headers[i].value;
	return NULL;
}

void pawl_response_raw(struct pawl_response *resp, int status, const char *json)
{
	resp->status = status;
	resp->body.len = 0;
	if (resp->body.data != NULL)
		resp->body.data[0] = '\0';
	pawl_buf_puts(&resp->body, json);
}

void pawl_response_json(struct pawl_response *resp, int status, json_object *obj)
{
	size_t len = 0;
	const char *text = pawl_json_compact(resp->arena, obj, &len);

	resp->status = status;
	resp->body.len = 0;
	if (text == NULL) {
		/* Only memory stops json-c from writing a tree: "{}" would be a half-built answer. */
		fail(resp, PAWL_ERR_NOMEM, NULL);
		return;
	}
	pawl_buf_append(&resp->body, text, len);
}

/* Kinto's validation message: "<name> in <location>: <description>". */
static void put_message(struct pawl_buf *b, const struct pawl_error *err)
{
	pawl_buf_puts(b, ",\"message\":");
	if (err->location != NULL && err->name[0] != '\0' && strstr(err->message, err->name) == NULL) {
		struct pawl_buf m;

		pawl_buf_init(&m, b->arena);
		pawl_buf_printf(&m, "%s in %s: %s", err->name, err->location, err->message);
		pawl_buf_json_string(b, m.data ? m.data : err->message, m.data ? m.len : strlen(err->message));
	} else {
		pawl_buf_json_string(b, err->message, strlen(err->message));
	}
}

static void put_validation_details(struct pawl_buf *b, const struct pawl_error *err)
{
	pawl_buf_puts(b, ",\"details\":[{\"location\":");
	pawl_buf_json_string(b, err->location, strlen(err->location));
	pawl_buf_puts(b, ",\"name\":");
	if (err->name[0] != '\0')
		pawl_buf_json_string(b, err->name, strlen(err->name));
	else
		pawl_buf_puts(b, "null");
	pawl_buf_puts(b, ",\"description\":");
	pawl_buf_json_string(b, err->message, strlen(err->message));
	pawl_buf_puts(b, "}]");
}

static void drop_validators(struct pawl_response *resp)
{
	static const char *const names[] = { "ETag", "Last-Modified", "Cache-Control" };
	size_t i, j, kept = 0;

	for (i = 0; i < resp->n_headers; i++) {
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (pawl_str_ieq(resp->headers[i].name, names[j]))
				break;
		if (j == sizeof(names) / sizeof(names[0]))
			resp->headers[kept++] = resp->headers[i];
	}
	resp->n_headers = kept;
}

/*
 * A 500 says nothing of its cause to the client (Kinto does the same); the
 * id in its body finds the log line that does. Returns the id, or NULL.
 */
static const char *internal_error(struct pawl_response *resp, const struct pawl_error *err,
    enum pawl_err code)
{
	unsigned char rnd[8];
	char *id = pawl_arena_alloc(resp->arena, 2 * sizeof(rnd) + 1);

	if (id == NULL || !pawl_random_bytes(rnd, sizeof(rnd))) {
		pawl_log_error("error (no id): %s (%s)", err->message, pawl_err_name(code));
		return NULL;
	}
	pawl_hex_encode(id, rnd, sizeof(rnd));
	pawl_log_error("error_id=%s %s (%s)", id, err->message, pawl_err_name(code));
	return id;
}

/*
 * The end of every error body: the request id, which the user quotes in a
 * report and which finds the request's log lines (it is a
 * pawl_request_id_valid token: nothing to escape).
 */
static void close_error(struct pawl_response *resp)
{
	if (resp->request_id != NULL)
		pawl_buf_printf(&resp->body, ",\"request_id\":\"%s\"", resp->request_id);
	pawl_buf_putc(&resp->body, '}');
}

void pawl_response_error(struct pawl_response *resp, const struct pawl_error *err)
{
	enum pawl_err code = err->code == PAWL_OK ? PAWL_ERR_INTERNAL : err->code;
	const char *title = pawl_err_title(code);
	struct pawl_buf *b = &resp->body;
	int status = pawl_err_status(code);

	resp->status = status;
	resp->errno_ = pawl_err_errno(code);
	/* Validators describe a resource served; an error serves none (412 carries the current one). */
	if (code != PAWL_ERR_PRECONDITION)
		drop_validators(resp);
	b->len = 0;
	pawl_buf_printf(b, "{\"code\":%d,\"errno\":%d,\"error\":", status, pawl_err_errno(code));
	pawl_buf_json_string(b, title, strlen(title));
	resp->error_id = NULL;
	if (status >= 500 && code != PAWL_ERR_BACKEND && code != PAWL_ERR_TIMEOUT) {
		/* Internal details stay in the logs, as Kinto does. */
		pawl_buf_puts(b, ",\"message\":\"A programmatic error occurred, developers have been informed.\"");
		if ((resp->error_id = internal_error(resp, err, code)) != NULL)
			pawl_buf_printf(b, ",\"details\":{\"error_id\":\"%s\"}", resp->error_id);
		close_error(resp);
		return;
	} else if (status == 503) {
		pawl_buf_puts(b, ",\"message\":\"Service temporary unavailable due to overloading "
		    "or maintenance, please retry later.\"");
	} else if (err->message[0] != '\0') {
		put_message(b, err);
	}
	if (err->details != NULL) {
		pawl_buf_puts(b, ",\"details\":");
		pawl_buf_puts(b, err->details);
	} else if (err->location != NULL) {
		put_validation_details(b, err);
	}
	close_error(resp);
}
