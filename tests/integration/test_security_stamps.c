/*
 * Hostile requests (issue 11): timestamps and database errors, and the suite
 * that also runs the token tests (test_security_stamps_tokens.c). A client's
 * last_modified is bounded on every write path (PUT, POST, the three PATCH
 * formats, batch, ?last_modified= on DELETE) and no request leaves a list
 * unwritable, even one poisoned by an older version; no SQLSTATE or
 * PostgreSQL text reaches a client, and every 500 carries an id that its log
 * line repeats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events_util.h"
#include "resource_util.h"
#include "security_stamps.h"

/* Registered by main.c. */
void test_security_stamps_register(void);

const char *const stamps_names[NWHO] = { "stamp-alice", "stamp-bob", "stamp-carol",
					 "anonymous" };
char stamps_auth_hdr[ANON][512];
char stamps_uid[ANON][128];

#define INT64_MAX_S "9223372036854775807"

/* --- helpers ----------------------------------------------------------------------- */

void stamps_as(struct http_resp *r, enum who who, const char *method, const char *path,
	       const char *body, const char *header)
{
	const char *h[3] = { NULL, NULL, NULL };
	size_t n = 0;

	if (who != ANON)
		h[n++] = stamps_auth_hdr[who];
	if (header != NULL)
		h[n++] = header;
	http_request(method, path, h, body, r);
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs sql on the stack's PostgreSQL (through a file: the text may hold $ and quotes). */
static bool psql_file(const char *sql)
{
	char file[4096], cmd[8192];
	FILE *f;
	int rc;

	snprintf(file, sizeof file, "%s/stamps-%ld.sql", harness_state_dir(), (long)getpid());
	if ((f = fopen(file, "w")) == NULL)
		return false;
	fputs(sql, f);
	fclose(f);
	snprintf(cmd, sizeof cmd,
		 "psql -X -q -v ON_ERROR_STOP=1 -h '%s/run/pg' -p %s -U postgres -d pawl -f '%s' "
		 ">/dev/null 2>&1", harness_state_dir(), getenv("PAWL_PG_PORT"), file);
	rc = system(cmd);
	unlink(file);
	return rc == 0;
}

const char *stamps_detail_name(json_object *body)
{
	json_object *d, *first, *name;

	if (body == NULL || !json_object_object_get_ex(body, "details", &d) ||
	    !json_object_is_type(d, json_type_array) || json_object_array_length(d) < 1)
		return NULL;
	first = json_object_array_get_idx(d, 0);
	if (!json_object_object_get_ex(first, "name", &name) ||
	    !json_object_is_type(name, json_type_string))
		return NULL;
	return json_object_get_string(name);
}

/* 400 errno 107 whose details name `name`; body_json is the error document. */
static void check_invalid_at(long status, json_object *body_json, const char *name,
			     const char *what, const char *file, unsigned line)
{
	const char *got = stamps_detail_name(body_json);

	check_at(status == 400 && ru_int(body_json, "errno") == 107 && got != NULL &&
		 strcmp(got, name) == 0, file, line, "%s: HTTP %ld errno %lld name %s, expected 400 "
		 "errno 107 naming %s", what, status, ru_int(body_json, "errno"),
		 got ? got : "(none)", name);
}

/* One write as Alice, expected refused as 400 naming name. */
static void refused_at(const char *method, const char *path, const char *body,
		       const char *header, const char *name, const char *file, unsigned line)
{
	struct http_resp r;

	stamps_as(&r, ALICE, method, path, body, header);
	check_invalid_at(r.status, r.json, name, ru_fmt("%s %s %s", method, path, body), file,
			 line);
	http_resp_free(&r);
}

#define REFUSED(m, p, b, h) refused_at((m), (p), (b), (h), "data.last_modified", __FILE__, __LINE__)

/* The same write inside a batch: its sub-response is the 400. */
static void batch_refused_at(const char *method, const char *path, const char *body,
			     const char *type, const char *file, unsigned line)
{
	struct http_resp r;
	json_object *subs, *sub = NULL, *status = NULL, *sbody = NULL;

	stamps_as(&r, ALICE, "POST", "/v1/batch",
	   ru_fmt("{\"requests\": [{\"method\": \"%s\", \"path\": \"%s\", \"body\": %s%s%s%s}]}",
		  method, path + 3, body, type ? ", \"headers\": {\"Content-Type\": \"" : "",
		  type ? type : "", type ? "\"}" : ""), NULL);
	subs = resp_json(&r, "responses");
	if (subs != NULL && json_object_array_length(subs) == 1)
		sub = json_object_array_get_idx(subs, 0);
	if (sub != NULL) {
		json_object_object_get_ex(sub, "status", &status);
		json_object_object_get_ex(sub, "body", &sbody);
	}
	check_invalid_at(status ? json_object_get_int64(status) : r.status, sbody ? sbody : r.json,
			 "data.last_modified", ru_fmt("batch %s %s %s", method, path, body), file,
			 line);
	http_resp_free(&r);
}

#define BATCH_REFUSED(m, p, b, t) batch_refused_at((m), (p), (b), (t), __FILE__, __LINE__)

long stamps_write(const char *method, const char *path, const char *body, char *id,
			   size_t size, long long *lm)
{
	struct http_resp r;
	long status;

	stamps_as(&r, ALICE, method, path, body, NULL);
	status = r.status;
	if (id != NULL)
		snprintf(id, size, "%s", ru_str(resp_json(&r, "data"), "id") ?
			 ru_str(resp_json(&r, "data"), "id") : "");
	if (lm != NULL)
		*lm = ru_int(resp_json(&r, "data"), "last_modified");
	http_resp_free(&r);
	return status;
}

/*
 * The list still takes a creation, an update and a deletion (2xx each), with
 * timestamps that JavaScript represents exactly.
 */
static void writable_at(const char *list, const char *file, unsigned line)
{
	char id[RU_ID_LEN], item[RU_PATH_LEN];
	long long lm1 = -1, lm2 = -1, lm3 = -1;
	long s1, s2 = 0, s3 = 0;

	s1 = stamps_write("POST", list, "{\"data\": {\"probe\": 1}}", id, sizeof id, &lm1);
	if (s1 == 201) {
		snprintf(item, sizeof item, "%s/%s", list, id);
		s2 = stamps_write("PATCH", item, "{\"data\": {\"probe\": 2}}", NULL, 0, &lm2);
		s3 = stamps_write("DELETE", item, NULL, NULL, 0, &lm3);
	}
	check_at(s1 == 201 && s2 == 200 && s3 == 200, file, line,
		 "%s is no longer writable: POST %ld, PATCH %ld, DELETE %ld", list, s1, s2, s3);
	check_at(lm1 > 0 && lm1 < lm2 && lm2 < lm3 && lm3 <= 9007199254740992LL, file, line,
		 "%s: timestamps %lld %lld %lld", list, lm1, lm2, lm3);
}

#define WRITABLE(l) writable_at((l), __FILE__, __LINE__)

/* --- timestamps -------------------------------------------------------------------- */

/* The four kinds, each with its list and one live object in it. */
struct kind {
	char list[RU_PATH_LEN];
	char item[RU_PATH_LEN + RU_ID_LEN + 2];
};

static void make_kinds(struct kind k[4])
{
	char b[RU_ID_LEN], id[RU_ID_LEN];

	ru_fresh_collection(b);
	snprintf(k[0].list, sizeof k[0].list, "/v1/buckets");
	snprintf(k[1].list, sizeof k[1].list, "/v1/buckets/%s/collections", b);
	snprintf(k[2].list, sizeof k[2].list, "/v1/buckets/%s/groups", b);
	snprintf(k[3].list, sizeof k[3].list, "/v1/buckets/%s/collections/c/records", b);
	for (int i = 0; i < 4; i++) {
		unique_id(id, sizeof id, "st");
		snprintf(k[i].item, sizeof k[i].item, "%s/%s", k[i].list, id);
		CHECK(stamps_write("PUT", k[i].item, "{\"data\": {}}", NULL, 0, NULL) == 201,
		      "PUT %s", k[i].item);
	}
}

/*
 * PUT, POST, the three PATCH formats and batch, on buckets, collections,
 * groups and records: a last_modified out of bounds is a 400 naming
 * data.last_modified, and the list takes writes afterwards.
 */
static void test_poison_refused(void)
{
	char ahead[32], body[256], patch[256];
	const char *bad[] = { INT64_MAX_S, "9007199254740993", "-1", "-9223372036854775807",
			      ahead };
	struct kind k[4];

	snprintf(ahead, sizeof ahead, "%lld", wall_ms() + 2 * 86400 * 1000LL);
	ru_login(stamps_names[ALICE], "stamps-password");
	make_kinds(k);
	for (int i = 0; i < 4; i++) {
		for (size_t v = 0; v < sizeof bad / sizeof *bad; v++) {
			snprintf(body, sizeof body, "{\"data\": {\"last_modified\": %s}}", bad[v]);
			REFUSED("PUT", k[i].item, body, NULL);
			WRITABLE(k[i].list);
			REFUSED("POST", k[i].list, body, NULL);
			WRITABLE(k[i].list);
			REFUSED("PATCH", k[i].item, body, NULL);
			WRITABLE(k[i].list);
			REFUSED("PATCH", k[i].item, body,
				"Content-Type: application/merge-patch+json");
			WRITABLE(k[i].list);
			snprintf(patch, sizeof patch, "[{\"op\": \"replace\", \"path\": "
				 "\"/data/last_modified\", \"value\": %s}]", bad[v]);
			REFUSED("PATCH", k[i].item, patch,
				"Content-Type: application/json-patch+json");
			WRITABLE(k[i].list);
			snprintf(patch, sizeof patch, "[{\"op\": \"add\", \"path\": "
				 "\"/data/last_modified\", \"value\": %s}]", bad[v]);
			REFUSED("PATCH", k[i].item, patch,
				"Content-Type: application/json-patch+json");
			WRITABLE(k[i].list);
			BATCH_REFUSED("PUT", k[i].item, body, NULL);
			BATCH_REFUSED("POST", k[i].list, body, NULL);
			BATCH_REFUSED("PATCH", k[i].item, body, NULL);
			/* A batch body is an object (Kinto's schema): no JSON Patch inside. */
			BATCH_REFUSED("PATCH", k[i].item, body, "application/merge-patch+json");
			WRITABLE(k[i].list);
		}
		/* The object itself is as sane as before. */
		CHECK(ru_get_lm(k[i].item) > 0 && ru_get_lm(k[i].item) <= wall_ms() + 1000,
		      "%s: last_modified %lld", k[i].item, ru_get_lm(k[i].item));
	}
}

/* Kinto honours a client's last_modified that moves an object forward: kept for sane values. */
static void test_sane_timestamps_honoured(void)
{
	struct kind k[4];
	char body[256], id[RU_ID_LEN];
	long long want, got = -1, prev;

	ru_login(stamps_names[ALICE], "stamps-password");
	make_kinds(k);
	for (int i = 0; i < 4; i++) {
		want = wall_ms() + 20000 + i * 4000;
		snprintf(body, sizeof body, "{\"data\": {\"last_modified\": %lld}}", want);
		CHECK(stamps_write("PUT", k[i].item, body, NULL, 0, &got) == 200 && got == want,
		      "PUT %s at %lld gave %lld", k[i].item, want, got);
		want += 500;
		snprintf(body, sizeof body, "[{\"op\": \"replace\", \"path\": "
			 "\"/data/last_modified\", \"value\": %lld}]", want);
		{
			struct http_resp r;

			stamps_as(&r, ALICE, "PATCH", k[i].item, body,
			   "Content-Type: application/json-patch+json");
			got = ru_int(resp_json(&r, "data"), "last_modified");
			CHECK(r.status == 200 && got == want, "JSON Patch %s at %lld gave %ld %lld",
			      k[i].item, want, r.status, got);
			http_resp_free(&r);
		}
		want += 500;
		snprintf(body, sizeof body, "{\"data\": {\"last_modified\": %lld}}", want);
		CHECK(stamps_write("POST", k[i].list, body, id, sizeof id, &got) == 201 &&
		      got == want, "POST %s at %lld gave %lld", k[i].list, want, got);
		/* Backwards is no error: the timestamp moves on instead. */
		prev = got;
		CHECK(stamps_write("PATCH", k[i].item, "{\"data\": {\"last_modified\": 0}}", NULL,
				     0, &got) == 200 && got > prev,
		      "PATCH %s at 0 gave %lld after %lld", k[i].item, got, prev);
		CHECK(stamps_write("PUT", k[i].item, "{\"data\": {\"last_modified\": null}}", NULL,
				     0, &got) == 200 && got > prev, "null last_modified refused");
	}
	/*
	 * What is not an integer is no timestamp: dropped, as Kinto does, never a
	 * poison. (1e300 never gets this far: no number is accepted that jsonb
	 * prints back as an integer beyond 2^64, see test_security_input.c.)
	 */
	for (int i = 0; i < 4; i++) {
		static const char *const dropped[] = { "\"1700000000000\"", "1.5", "true",
						       "9.3e18", "[1]", "{\"a\": 1}" };

		for (size_t v = 0; v < sizeof dropped / sizeof *dropped; v++) {
			snprintf(body, sizeof body, "{\"data\": {\"last_modified\": %s}}",
				 dropped[v]);
			prev = ru_get_lm(k[i].item);
			CHECK(stamps_write("PATCH", k[i].item, body, NULL, 0, &got) == 200 &&
			      got > prev && got <= wall_ms() + 60000,
			      "PATCH %s %s: last_modified %lld after %lld", k[i].item, body, got, prev);
			CHECK(stamps_write("PUT", k[i].item, body, NULL, 0, &got) == 200 &&
			      got <= wall_ms() + 60000, "PUT %s %s: %lld", k[i].item, body, got);
			WRITABLE(k[i].list);
		}
	}
}

/* ?last_modified= on an item DELETE sets the tombstone's timestamp: bounded too. */
static void test_delete_timestamp(void)
{
	struct kind k[4];
	char q[RU_PATH_LEN], ahead[32];
	const char *bad[] = { INT64_MAX_S, "9007199254740993", "-1", ahead };
	long long want, got = -1;

	ru_login(stamps_names[ALICE], "stamps-password");
	make_kinds(k);
	snprintf(ahead, sizeof ahead, "%lld", wall_ms() + 2 * 86400 * 1000LL);
	for (int i = 0; i < 4; i++) {
		for (size_t v = 0; v < sizeof bad / sizeof *bad; v++) {
			snprintf(q, sizeof q, "%s?last_modified=%s", k[i].item, bad[v]);
			refused_at("DELETE", q, NULL, NULL, "last_modified", __FILE__, __LINE__);
			WRITABLE(k[i].list);
		}
		want = wall_ms() + 30000 + i * 1000;
		snprintf(q, sizeof q, "%s?last_modified=%lld", k[i].item, want);
		CHECK(stamps_write("DELETE", q, NULL, NULL, 0, &got) == 200 && got == want,
		      "DELETE %s gave tombstone %lld", q, got);
		WRITABLE(k[i].list);
	}
}

/* The SQL that poisons a list the way older versions let a client do. */
static const char *poison_sql(const char *parent, const char *resource, const char *id)
{
	return ru_fmt("UPDATE objects SET last_modified = " INT64_MAX_S ", data = data || "
		      "'{\"last_modified\": " INT64_MAX_S "}' WHERE parent_id = '%s' AND "
		      "resource_name = '%s' AND id = '%s';\n"
		      "UPDATE timestamps SET last_modified = " INT64_MAX_S " WHERE parent_id = '%s' "
		      "AND resource_name = '%s';\n", parent, resource, id, parent, resource);
}

/* A list left at 2^63 - 1 by an older version takes writes again, its culprit included. */
static void test_poisoned_list_recovers(void)
{
	char b[RU_ID_LEN], list[RU_PATH_LEN], item[RU_PATH_LEN + 16], parent[RU_PATH_LEN];
	long long lm = -1;

	ru_login(stamps_names[ALICE], "stamps-password");
	ru_fresh_collection(b);
	snprintf(list, sizeof list, "/v1/buckets/%s/collections/c/records", b);
	snprintf(item, sizeof item, "%s/culprit", list);
	snprintf(parent, sizeof parent, "/buckets/%s/collections/c", b);
	CHECK(stamps_write("PUT", item, "{\"data\": {\"x\": 1}}", NULL, 0, NULL) == 201, "PUT");
	CHECK(psql_file(poison_sql(parent, "record", "culprit")), "psql could not poison the list");
	WRITABLE(list);
	CHECK(stamps_write("PATCH", item, "{\"data\": {\"x\": 2}}", NULL, 0, &lm) == 200 &&
	      lm > 0 && lm <= 9007199254740992LL, "PATCH of the culprit: last_modified %lld", lm);
	CHECK(stamps_write("DELETE", item, NULL, NULL, 0, &lm) == 200 &&
	      lm <= 9007199254740992LL, "DELETE of the culprit: last_modified %lld", lm);
	WRITABLE(list);
	/* The root bucket list too (pawl's own way to make it unwritable before). */
	unique_id(b, sizeof b, "stp");
	CHECK(stamps_write("PUT", ru_bucket(b), "{\"data\": {}}", NULL, 0, NULL) == 201,
	      "PUT bucket");
	CHECK(psql_file(poison_sql("", "bucket", b)), "psql could not poison /buckets");
	WRITABLE("/v1/buckets");
	CHECK(stamps_write("DELETE", ru_bucket(b), NULL, NULL, 0, NULL) == 200,
	      "DELETE of the culprit bucket");
}

/* sql/0007 repairs what older versions stored beyond 2^53, keeping the order. */
static void test_repair_migration(void)
{
	char b[RU_ID_LEN], list[RU_PATH_LEN], parent[RU_PATH_LEN], path[4096], *sql = NULL;
	const char *src = getenv("PAWL_SRCDIR");
	long long before = -1, culprit, after, etag;
	size_t len = 0;
	FILE *f;

	ru_login(stamps_names[ALICE], "stamps-password");
	ru_fresh_collection(b);
	snprintf(list, sizeof list, "/v1/buckets/%s/collections/c/records", b);
	snprintf(parent, sizeof parent, "/buckets/%s/collections/c", b);
	CHECK(stamps_write("PUT", ru_fmt("%s/a", list), "{}", NULL, 0, &before) == 201, "PUT a");
	CHECK(stamps_write("PUT", ru_fmt("%s/z", list), "{}", NULL, 0, NULL) == 201, "PUT z");
	CHECK(psql_file(poison_sql(parent, "record", "z")), "psql could not poison the list");
	snprintf(path, sizeof path, "%s/sql/0007_timestamps_bound.sql", src ? src : ".");
	f = fopen(path, "r");
	CHECK(f != NULL, "cannot read %s", path);
	if (f == NULL)
		return;
	if ((sql = calloc(1, 65536)) != NULL)
		len = fread(sql, 1, 65535, f);
	fclose(f);
	CHECK(sql != NULL && len > 0 && len < 65535, "cannot read %s", path);
	if (sql == NULL)
		return;
	CHECK(psql_file(sql), "the repair migration failed");
	free(sql);
	culprit = ru_get_lm(ru_fmt("%s/z", list));
	after = ru_get_lm(ru_fmt("%s/a", list));
	etag = ru_list_etag("GET", list);
	CHECK(culprit > before && culprit <= 9007199254740992LL && after == before,
	      "after repair: a %lld (was %lld), z %lld", after, before, culprit);
	CHECK(etag >= culprit && etag <= 9007199254740992LL, "list ETag %lld after repair", etag);
	WRITABLE(list);
}

/* --- database errors --------------------------------------------------------------- */

/*
 * A trigger that fails a write with the SQLSTATE the object names, so that
 * every class the mapping knows can be met over HTTP.
 */
static const char raise_trigger[] =
	"CREATE OR REPLACE FUNCTION pawl_test_raise() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	"BEGIN\n"
	"  IF NEW.data ? 'raise_sqlstate' THEN\n"
	"    RAISE EXCEPTION 'stamps secret text %', NEW.data->>'raise_sqlstate'\n"
	"      USING ERRCODE = NEW.data->>'raise_sqlstate';\n"
	"  END IF;\n"
	"  RETURN NEW;\n"
	"END $f$;\n"
	"DROP TRIGGER IF EXISTS pawl_test_raise ON objects;\n"
	"CREATE TRIGGER pawl_test_raise BEFORE INSERT OR UPDATE ON objects\n"
	"  FOR EACH ROW EXECUTE FUNCTION pawl_test_raise();\n";

/* Whether the stack's log has a line with needle, waiting up to 3 s for it. */
static bool logged(const char *needle)
{
	for (int i = 0; i < 30; i++) {
		if (log_count("log/pawl.log", needle) > 0)
			return true;
		sleep_ms(100);
	}
	return false;
}

static void check_db_error_at(const struct http_resp *r, const char *state, long status,
			      int err_no, const char *file, unsigned line)
{
	const char *id = ru_str(resp_json(r, "details"), "error_id");

	check_at(r->status == status && ru_int(r->json, "errno") == err_no, file, line,
		 "SQLSTATE %s: HTTP %ld errno %lld, expected %ld errno %d: %s", state, r->status,
		 ru_int(r->json, "errno"), status, err_no, body_snip(r));
	check_at(strstr(r->body, "database") == NULL && strstr(r->body, state) == NULL &&
		 strstr(r->body, "secret text") == NULL, file, line,
		 "SQLSTATE %s reached the client: %s", state, body_snip(r));
	if (status == 503 || err_no == 122)
		check_at(resp_header(r, "Retry-After") != NULL, file, line,
			 "SQLSTATE %s: no Retry-After", state);
	if (status != 500)
		return;
	check_at(id != NULL && strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16, file,
		 line, "SQLSTATE %s: a 500 without an error id: %s", state, body_snip(r));
	check_at(strstr(r->body, "A programmatic error occurred") != NULL, file, line,
		 "SQLSTATE %s: not Kinto's 500 message: %s", state, body_snip(r));
	if (id != NULL)
		check_at(logged(ru_fmt("error_id=%s database error %s: stamps secret text", id,
				       state)), file, line,
			 "the log has no line with error id %s and SQLSTATE %s", id, state);
}

/* Each SQLSTATE class to a Kinto error; a 500 carries an id that the log line repeats. */
static void test_no_sqlstate_to_clients(void)
{
	static const struct {
		const char *state;
		long status;
		int err_no;
	} cases[] = {
		{ "XX000", 500, 999 }, { "42P01", 500, 999 }, { "P0001", 500, 999 },
		{ "0A000", 500, 999 }, { "22003", 400, 107 }, { "22P05", 400, 107 },
		{ "22P02", 400, 107 }, { "23505", 409, 122 }, { "23514", 409, 122 },
		{ "40001", 409, 122 }, { "40P01", 409, 122 }, { "53100", 503, 201 },
		{ "53200", 503, 201 }, { "57014", 503, 201 }, { "57P01", 503, 201 },
		{ "08006", 503, 201 },
	};
	char b[RU_ID_LEN], list[RU_PATH_LEN];
	struct http_resp r;

	ru_login(stamps_names[ALICE], "stamps-password");
	ru_fresh_collection(b);
	snprintf(list, sizeof list, "%s", ru_records(b, "c"));
	CHECK(psql_file(raise_trigger), "psql could not create the trigger");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *body = ru_fmt("{\"data\": {\"raise_sqlstate\": \"%s\"}}",
					  cases[i].state);

		stamps_as(&r, ALICE, "POST", list, body, NULL);
		check_db_error_at(&r, cases[i].state, cases[i].status, cases[i].err_no, __FILE__,
				  __LINE__);
		http_resp_free(&r);
		/* The same inside a batch: the batch answers it (a 5xx fails the batch). */
		stamps_as(&r, ALICE, "POST", "/v1/batch",
		   ru_fmt("{\"requests\": [{\"method\": \"POST\", \"path\": \"%s\", \"body\": %s}]}",
			  list + 3, body), NULL);
		if (cases[i].status >= 500)
			check_db_error_at(&r, cases[i].state, cases[i].status, cases[i].err_no,
					  __FILE__, __LINE__);
		else
			CHECK(strstr(r.body, "database") == NULL &&
			      strstr(r.body, cases[i].state) == NULL, "batch: SQLSTATE %s reached "
			      "the client: %s", cases[i].state, body_snip(&r));
		http_resp_free(&r);
	}
	CHECK(psql_file("DROP TRIGGER IF EXISTS pawl_test_raise ON objects;\n"
			"DROP FUNCTION IF EXISTS pawl_test_raise();\n"), "psql could not drop the trigger");
	WRITABLE(list);
}

/* --- suite ------------------------------------------------------------------------- */

static int suite_init(void)
{
	for (int w = 0; w < ANON; w++) {
		struct http_resp r;
		const char *id;

		basic_auth(stamps_auth_hdr[w], sizeof stamps_auth_hdr[w], stamps_names[w],
			   "stamps-password");
		stamps_as(&r, (enum who)w, "GET", "/v1/", NULL, NULL);
		id = ru_str(resp_json(&r, "user"), "id");
		if (id == NULL) {
			fprintf(stderr, "stamps: hello gives %s no user.id: %s\n", stamps_names[w],
				body_snip(&r));
			http_resp_free(&r);
			return -1;
		}
		SET(stamps_uid[w], id);
		http_resp_free(&r);
	}
	return 0;
}

void test_security_stamps_register(void)
{
	CU_pSuite s = CU_add_suite("security: timestamps, tokens, database errors", suite_init,
				   NULL);

	CU_add_test(s, "client last_modified bounded on every write path", test_poison_refused);
	CU_add_test(s, "sane client timestamps honoured", test_sane_timestamps_honoured);
	CU_add_test(s, "?last_modified= on DELETE bounded", test_delete_timestamp);
	CU_add_test(s, "a poisoned list recovers", test_poisoned_list_recovers);
	CU_add_test(s, "repair migration", test_repair_migration);
	test_security_stamps_tokens_add(s);
	CU_add_test(s, "no SQLSTATE reaches a client", test_no_sqlstate_to_clients);
}
