/*
 * Kinto's permission model over real HTTP (docs/protocol.md §5, §7):
 * every rule of the inheritance table, each grant and each denial, with four
 * Basic-auth users and anonymous callers; list filtering, missing objects,
 * groups, the special principals, permissions in request bodies, the
 * <resource>_<perm>_principals settings and what deleting a bucket forgets.
 * Alice owns every fixture; the others only get what a test grants them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resource_util.h"

enum who { ALICE, BOB, CAROL, DAVE, ANON, NWHO };

static const char *const names[NWHO] = { "perm-alice", "perm-bob", "perm-carol", "perm-dave",
					 "anonymous" };
static char auth_hdr[ANON][512];
static char uid[ANON][128]; /* "basicauth:<hex>", from the hello view */

/* --- requests as one user ---------------------------------------------------------- */

/* method path as who, with body and an optional extra header (Content-Type...). */
static void as(struct http_resp *r, enum who who, const char *method, const char *path,
	       const char *body, const char *header)
{
	const char *h[3] = { NULL, NULL, NULL };
	size_t n = 0;

	if (who != ANON)
		h[n++] = auth_hdr[who];
	if (header != NULL)
		h[n++] = header;
	http_request(method, path, h, body, r);
}

/* The status, and the errno when err_no is not 0; returns whether both matched. */
static bool expect_at(enum who who, const char *method, const char *path, const char *body,
		      long status, int err_no, const char *file, unsigned line)
{
	struct http_resp r;
	bool ok;

	as(&r, who, method, path, body, NULL);
	ok = r.status == status && (err_no == 0 || ru_int(r.json, "errno") == err_no);
	check_at(ok, file, line, "%s %s as %s: HTTP %ld errno %lld, expected %ld%s: %s", method,
		 path, names[who], r.status, ru_int(r.json, "errno"), status,
		 err_no ? ru_fmt(" errno %d", err_no) : "", body_snip(&r));
	http_resp_free(&r);
	return ok;
}

/* Refused: 401 errno 104 for anonymous callers, 403 errno 121 for the others. */
static void denied_at(enum who who, const char *method, const char *path, const char *body,
		      const char *file, unsigned line)
{
	if (who == ANON)
		expect_at(who, method, path, body, 401, 104, file, line);
	else
		expect_at(who, method, path, body, 403, 121, file, line);
}

#define EXPECT(w, m, p, b, s) expect_at((w), (m), (p), (b), (s), 0, __FILE__, __LINE__)
#define EXPECT_ERR(w, m, p, b, s, e) expect_at((w), (m), (p), (b), (s), (e), __FILE__, __LINE__)
#define DENIED(w, m, p, b) denied_at((w), (m), (p), (b), __FILE__, __LINE__)
#define CAN_READ(w, p) EXPECT((w), "GET", (p), NULL, 200)
#define PATCH_BODY "{\"data\": {\"touched\": true}}"

/* The sorted ids of who's GET list, as ru_ids_csv gives them, must be want. */
static void list_is_at(enum who who, const char *list, const char *want, const char *file,
		       unsigned line)
{
	struct http_resp r;
	const char *got;

	as(&r, who, "GET", list, NULL, NULL);
	got = ru_ids_csv(&r, true);
	check_at(strcmp(got, want) == 0, file, line, "GET %s as %s: ids [%s], expected [%s]", list,
		 names[who], got, want);
	http_resp_free(&r);
}
#define LIST_IS(w, l, want) list_is_at((w), (l), (want), __FILE__, __LINE__)

/* Whether who's GET list (a 200) holds id. */
static bool in_list(enum who who, const char *list, const char *id)
{
	struct http_resp r;
	json_object *data;
	bool found = false;

	as(&r, who, "GET", list, NULL, NULL);
	data = resp_json(&r, "data");
	CHECK(r.status == 200 && data != NULL, "GET %s as %s: HTTP %ld %s", list, names[who],
	      r.status, body_snip(&r));
	for (size_t i = 0; i < ru_len(data); i++) {
		const char *got = ru_str(json_object_array_get_idx(data, i), "id");

		found = found || (got != NULL && strcmp(got, id) == 0);
	}
	http_resp_free(&r);
	return found;
}

/* Alice (the owner) PATCHes path's permissions with the JSON object perms. */
static void acl_at(const char *path, const char *perms, const char *file, unsigned line)
{
	expect_at(ALICE, "PATCH", path, ru_fmt("{\"permissions\": %s}", perms), 200, 0, file, line);
}
#define ACL(p, perms) acl_at((p), (perms), __FILE__, __LINE__)

/* {"<perm>": ["<who's id>"]} */
static const char *one(const char *perm, enum who who)
{
	return ru_fmt("{\"%s\": [\"%s\"]}", perm, uid[who]);
}

/* The response's permissions are {} (shown to writers only, Kinto API 1.11). */
static void hidden_acl_at(enum who who, const char *path, const char *file, unsigned line)
{
	struct http_resp r;
	json_object *p;

	as(&r, who, "GET", path, NULL, NULL);
	p = resp_json(&r, "permissions");
	check_at(r.status == 200 && p != NULL && json_object_is_type(p, json_type_object) &&
		     ru_keys(p) == 0,
		 file, line, "GET %s as %s: expected 200 with \"permissions\": {}: HTTP %ld %s",
		 path, names[who], r.status, body_snip(&r));
	http_resp_free(&r);
}
#define HIDDEN_ACL(w, p) hidden_acl_at((w), (p), __FILE__, __LINE__)

/* Whether the principal list perm of json's permissions holds principal. */
static bool acl_has(json_object *json, const char *perm, const char *principal)
{
	json_object *perms, *list;

	if (json == NULL || !json_object_object_get_ex(json, "permissions", &perms) ||
	    !json_object_is_type(perms, json_type_object) ||
	    !json_object_object_get_ex(perms, perm, &list))
		return false;
	for (size_t i = 0; i < ru_len(list); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(list, i)), principal) ==
		    0)
			return true;
	return false;
}

/* The permissions Alice sees on path, compared as sets: want is {"perm": [ids...]}. */
static void acl_is_at(const char *path, const char *want, const char *file, unsigned line)
{
	struct http_resp r;
	json_object *w = json_tokener_parse(want), *got;
	bool ok;

	as(&r, ALICE, "GET", path, NULL, NULL);
	got = resp_json(&r, "permissions");
	ok = w != NULL && r.status == 200 && ru_keys(got) == ru_keys(w);
	if (ok) {
		json_object_object_foreach(w, perm, list)
		{
			json_object *have = NULL;

			ok = ok && json_object_object_get_ex(got, perm, &have) &&
			     ru_len(have) == ru_len(list);
			for (size_t i = 0; ok && i < ru_len(list); i++)
				ok = acl_has(
				    r.json, perm,
				    json_object_get_string(json_object_array_get_idx(list, i)));
		}
	}
	check_at(ok, file, line, "GET %s: permissions are not %s: HTTP %ld %s", path, want,
		 r.status, body_snip(&r));
	json_object_put(w);
	http_resp_free(&r);
}
#define ACL_IS(p, w) acl_is_at((p), (w), __FILE__, __LINE__)

/* Whether who's hello view lists principal in user.principals. */
static bool hello_lists(enum who who, const char *principal)
{
	struct http_resp r;
	json_object *list;
	bool found = false;

	as(&r, who, "GET", "/v1/", NULL, NULL);
	list = resp_json(&r, "user.principals");
	for (size_t i = 0; i < ru_len(list); i++)
		found = found || strcmp(json_object_get_string(json_object_array_get_idx(list, i)),
					principal) == 0;
	CHECK(r.status == 200 && ru_len(list) >= 3, "hello as %s: no user.principals: %s",
	      names[who], body_snip(&r));
	http_resp_free(&r);
	return found;
}

/* --- a fixture of Alice's ---------------------------------------------------------------- */

/*
 * /buckets/<b> with collections c (records r1, r2) and c2 (record s1) and a
 * group g without members, all created by Alice with no other grant.
 */
struct fx {
	char b[RU_ID_LEN];
	char bucket[256], colls[256], c[256], c2[256], groups[256], g[256];
	char records[256], r1[256], r2[256], records2[256], s1[256];
	char group_uri[256]; /* the principal: /buckets/<b>/groups/g */
};

static void fixture_at(struct fx *f, const char *file, unsigned line)
{
	unique_id(f->b, sizeof f->b, "pm");
	SET(f->bucket, ru_bucket(f->b));
	SET(f->colls, ru_fmt("/v1/buckets/%s/collections", f->b));
	SET(f->c, ru_collection(f->b, "c"));
	SET(f->c2, ru_collection(f->b, "c2"));
	SET(f->groups, ru_fmt("/v1/buckets/%s/groups", f->b));
	SET(f->g, ru_fmt("/v1/buckets/%s/groups/g", f->b));
	SET(f->group_uri, ru_fmt("/buckets/%s/groups/g", f->b));
	SET(f->records, ru_records(f->b, "c"));
	SET(f->r1, ru_record(f->b, "c", "r1"));
	SET(f->r2, ru_record(f->b, "c", "r2"));
	SET(f->records2, ru_records(f->b, "c2"));
	SET(f->s1, ru_record(f->b, "c2", "s1"));
	expect_at(ALICE, "PUT", f->bucket, "{\"data\": {}}", 201, 0, file, line);
	expect_at(ALICE, "PUT", f->c, "{\"data\": {}}", 201, 0, file, line);
	expect_at(ALICE, "PUT", f->c2, "{\"data\": {}}", 201, 0, file, line);
	expect_at(ALICE, "PUT", f->r1, "{\"data\": {\"n\": 1}}", 201, 0, file, line);
	expect_at(ALICE, "PUT", f->r2, "{\"data\": {\"n\": 2}}", 201, 0, file, line);
	expect_at(ALICE, "PUT", f->s1, "{\"data\": {\"n\": 3}}", 201, 0, file, line);
	expect_at(ALICE, "PUT", f->g, "{\"data\": {\"members\": []}}", 201, 0, file, line);
}
#define FIXTURE(f) fixture_at((f), __FILE__, __LINE__)

/* Everything under the fixture, refused to who (the baseline of each grant test). */
static void denied_everywhere_at(enum who who, const struct fx *f, const char *file, unsigned line)
{
	denied_at(who, "GET", f->bucket, NULL, file, line);
	denied_at(who, "GET", f->c, NULL, file, line);
	denied_at(who, "GET", f->records, NULL, file, line);
	denied_at(who, "GET", f->r1, NULL, file, line);
	denied_at(who, "GET", f->g, NULL, file, line);
	denied_at(who, "PATCH", f->r1, PATCH_BODY, file, line);
	denied_at(who, "POST", f->records, "{\"data\": {}}", file, line);
}
#define DENIED_EVERYWHERE(w, f) denied_everywhere_at((w), (f), __FILE__, __LINE__)

/* --- bucket:create, creators and readers ----------------------------------------------- */

static void test_bucket_create(void)
{
	char b[RU_ID_LEN], b2[RU_ID_LEN];
	struct http_resp r;

	unique_id(b, sizeof b, "pc");
	unique_id(b2, sizeof b2, "pc");
	/* anonymous: not in bucket_create_principals (system.Authenticated by default) */
	as(&r, ANON, "PUT", ru_bucket(b), "{\"data\": {}}", NULL);
	assert_error(&r, 401, 104);
	CHECK(resp_header(&r, "WWW-Authenticate") != NULL &&
		  strcmp(resp_header(&r, "WWW-Authenticate"), "Basic realm=\"Realm\"") == 0,
	      "401 without WWW-Authenticate: Basic realm=\"Realm\": %s",
	      resp_header(&r, "WWW-Authenticate") ? resp_header(&r, "WWW-Authenticate") : "none");
	http_resp_free(&r);
	as(&r, ANON, "POST", "/v1/buckets", ru_fmt("{\"data\": {\"id\": \"%s\"}}", b), NULL);
	assert_error(&r, 401, 104);
	CHECK(resp_header(&r, "WWW-Authenticate") != NULL, "POST 401 without WWW-Authenticate");
	http_resp_free(&r);
	EXPECT(ALICE, "GET", ru_bucket(b), NULL, 403); /* nothing was created */

	/* any authenticated user: PUT and POST, the creator alone in write */
	as(&r, ALICE, "PUT", ru_bucket(b), "{\"data\": {}}", NULL);
	assert_status(&r, 201);
	check_exact(resp_json(&r, "permissions"), ru_fmt("{\"write\": [\"%s\"]}", uid[ALICE]),
		    "PUT bucket: permissions");
	http_resp_free(&r);
	as(&r, BOB, "POST", "/v1/buckets", ru_fmt("{\"data\": {\"id\": \"%s\"}}", b2), NULL);
	assert_status(&r, 201);
	check_exact(resp_json(&r, "permissions"), ru_fmt("{\"write\": [\"%s\"]}", uid[BOB]),
		    "POST bucket: permissions");
	http_resp_free(&r);
	/* one's bucket is not the other's */
	DENIED(BOB, "GET", ru_bucket(b), NULL);
	DENIED(ALICE, "GET", ru_bucket(b2), NULL);
	DENIED(ANON, "GET", ru_bucket(b), NULL);
	DENIED(BOB, "PUT", ru_bucket(b), "{\"data\": {}}");
	EXPECT(BOB, "DELETE", ru_bucket(b2), NULL, 200);
}

static void test_creator_and_readers(void)
{
	struct fx f;
	struct http_resp r;

	FIXTURE(&f);
	DENIED_EVERYWHERE(BOB, &f);
	ACL(f.r1, one("read", BOB));
	/* a reader gets the object without its ACL */
	HIDDEN_ACL(BOB, f.r1);
	/* a writer gets it all */
	as(&r, ALICE, "GET", f.r1, NULL, NULL);
	assert_status(&r, 200);
	CHECK(acl_has(r.json, "write", uid[ALICE]) && acl_has(r.json, "read", uid[BOB]),
	      "the owner does not see the ACL: %s", body_snip(&r));
	http_resp_free(&r);
	/* once in write, Bob sees it too; others still see nothing */
	ACL(f.r1, ru_fmt("{\"write\": [\"%s\", \"%s\"]}", uid[ALICE], uid[BOB]));
	as(&r, BOB, "GET", f.r1, NULL, NULL);
	assert_status(&r, 200);
	CHECK(acl_has(r.json, "write", uid[BOB]) && acl_has(r.json, "read", uid[BOB]),
	      "a writer does not see the ACL: %s", body_snip(&r));
	http_resp_free(&r);
	DENIED(CAROL, "GET", f.r1, NULL);
	DENIED(ANON, "GET", f.r1, NULL);
}

/*
 * The permissions a creation answers with are known without reading them
 * back (fresh id): they must be what a read returns, duplicates folded.
 */
static void test_created_acl_matches_read(void)
{
	struct fx f;
	struct http_resp post, get;
	const char *body;
	json_object *created, *read;
	const char *id;

	FIXTURE(&f);
	body = ru_fmt("{\"data\": {}, \"permissions\": {\"read\": [\"%s\", \"system.Everyone\", \"%s\"], "
	    "\"write\": [\"%s\", \"%s\"]}}", uid[BOB], uid[BOB], uid[BOB], uid[ALICE]);
	as(&post, ALICE, "POST", f.records, body, NULL);
	assert_status(&post, 201);
	created = resp_json(&post, "permissions");
	id = json_object_get_string(resp_json(&post, "data.id"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	as(&get, ALICE, "GET", ru_fmt("%s/%s", f.records, id), NULL, NULL);
	assert_status(&get, 200);
	read = resp_json(&get, "permissions");
	CHECK(created != NULL && read != NULL && json_object_equal(created, read),
	      "POST answered %s, GET %s", json_object_to_json_string(created),
	      json_object_to_json_string(read));
	CHECK(json_object_array_length(json_object_object_get(read, "read")) == 2 &&
	      json_object_array_length(json_object_object_get(read, "write")) == 2,
	      "duplicates kept: %s", json_object_to_json_string(read));
	http_resp_free(&post);
	http_resp_free(&get);
}

/* --- the inheritance table, one row at a time ----------------------------------------- */

/* bucket write: everything below, and creating anything in it. */
static void test_bucket_write(void)
{
	struct fx f;
	struct http_resp r;

	FIXTURE(&f);
	DENIED_EVERYWHERE(BOB, &f);
	ACL(f.bucket, ru_fmt("{\"write\": [\"%s\", \"%s\"]}", uid[ALICE], uid[BOB]));
	as(&r, BOB, "GET", f.bucket, NULL, NULL);
	assert_status(&r, 200);
	CHECK(acl_has(r.json, "write", uid[BOB]), "a bucket writer does not see its ACL: %s",
	      body_snip(&r));
	http_resp_free(&r);
	EXPECT(BOB, "PATCH", f.bucket, PATCH_BODY, 200);
	CAN_READ(BOB, f.c);
	CAN_READ(BOB, f.c2);
	CAN_READ(BOB, f.g);
	LIST_IS(BOB, f.colls, "c,c2");
	LIST_IS(BOB, f.groups, "g");
	LIST_IS(BOB, f.records, "r1,r2");
	LIST_IS(BOB, f.records2, "s1");
	CAN_READ(BOB, f.r1);
	CAN_READ(BOB, f.s1);
	EXPECT(BOB, "PATCH", f.c, PATCH_BODY, 200);
	EXPECT(BOB, "PATCH", f.g, "{\"data\": {\"members\": []}}", 200);
	EXPECT(BOB, "PATCH", f.r1, PATCH_BODY, 200);
	EXPECT(BOB, "PATCH", f.s1, PATCH_BODY, 200);
	EXPECT(BOB, "DELETE", f.r2, NULL, 200);
	EXPECT(BOB, "POST", f.colls, "{\"data\": {\"id\": \"bobc\"}}", 201);
	EXPECT(BOB, "PUT", ru_fmt("%s/bobg", f.groups), "{\"data\": {\"members\": []}}", 201);
	EXPECT(BOB, "POST", f.records, "{\"data\": {\"id\": \"bobr\"}}", 201);
	EXPECT(BOB, "PUT", ru_record(f.b, "c2", "bobs"), "{\"data\": {}}", 201);
	EXPECT(BOB, "DELETE", f.c2, NULL, 200);
	/* nobody else got anything */
	DENIED_EVERYWHERE(CAROL, &f);
	DENIED_EVERYWHERE(ANON, &f);
	EXPECT(BOB, "DELETE", f.bucket, NULL, 200);
}

/* bucket read: reading everything below, no write anywhere. */
static void test_bucket_read(void)
{
	struct fx f;

	FIXTURE(&f);
	ACL(f.bucket, one("read", BOB));
	HIDDEN_ACL(BOB, f.bucket);
	HIDDEN_ACL(BOB, f.c);
	HIDDEN_ACL(BOB, f.g);
	HIDDEN_ACL(BOB, f.r1);
	CAN_READ(BOB, f.s1);
	LIST_IS(BOB, f.colls, "c,c2");
	LIST_IS(BOB, f.groups, "g");
	LIST_IS(BOB, f.records, "r1,r2");
	LIST_IS(BOB, f.records2, "s1");
	CHECK(in_list(BOB, "/v1/buckets", f.b), "a reader's bucket list lacks %s", f.b);
	DENIED(BOB, "PATCH", f.bucket, PATCH_BODY);
	DENIED(BOB, "PUT", f.bucket, "{\"data\": {}}");
	DENIED(BOB, "DELETE", f.bucket, NULL);
	DENIED(BOB, "POST", f.colls, "{\"data\": {}}");
	DENIED(BOB, "PUT", ru_collection(f.b, "bobc"), "{\"data\": {}}");
	DENIED(BOB, "PATCH", f.c, PATCH_BODY);
	DENIED(BOB, "DELETE", f.c, NULL);
	DENIED(BOB, "PUT", ru_fmt("%s/bobg", f.groups), "{\"data\": {}}");
	DENIED(BOB, "PATCH", f.g, "{\"data\": {\"members\": []}}");
	DENIED(BOB, "POST", f.records, "{\"data\": {}}");
	DENIED(BOB, "PUT", ru_record(f.b, "c", "bobr"), "{\"data\": {}}");
	DENIED(BOB, "PATCH", f.r1, PATCH_BODY);
	DENIED(BOB, "PUT", f.r1, "{\"data\": {}}");
	DENIED(BOB, "DELETE", f.r1, NULL);
	/* a plural DELETE with nothing writable and no create permission (Kinto) */
	DENIED(BOB, "DELETE", f.records, NULL);
	LIST_IS(ALICE, f.records, "r1,r2");
	DENIED_EVERYWHERE(CAROL, &f);
}

/* collection:create and group:create on the bucket. */
static void test_child_create(void)
{
	struct fx f;
	struct http_resp r;
	char mine[64] = "";

	FIXTURE(&f);
	ACL(f.bucket, ru_fmt("{\"collection:create\": [\"%s\"], \"group:create\": [\"%s\"]}",
			     uid[CAROL], uid[DAVE]));
	/* both may read the bucket's attributes, not what is inside */
	HIDDEN_ACL(CAROL, f.bucket);
	HIDDEN_ACL(DAVE, f.bucket);
	DENIED(CAROL, "GET", f.c, NULL);
	DENIED(CAROL, "GET", f.g, NULL);
	DENIED(CAROL, "GET", f.records, NULL);
	DENIED(CAROL, "GET", f.r1, NULL);
	DENIED(DAVE, "GET", f.c, NULL);
	DENIED(DAVE, "GET", f.g, NULL);
	DENIED(DAVE, "GET", f.r1, NULL);
	DENIED(CAROL, "PATCH", f.bucket, PATCH_BODY);
	DENIED(DAVE, "PATCH", f.bucket, PATCH_BODY);
	DENIED(CAROL, "DELETE", f.bucket, NULL);
	/* Carol creates collections, not groups; Dave the other way round */
	as(&r, CAROL, "POST", f.colls, "{\"data\": {}}", NULL);
	assert_status(&r, 201);
	if (ru_str(resp_json(&r, "data"), "id") != NULL)
		SET(mine, ru_str(resp_json(&r, "data"), "id"));
	CHECK(acl_has(r.json, "write", uid[CAROL]), "the new collection's ACL: %s", body_snip(&r));
	http_resp_free(&r);
	EXPECT(CAROL, "PUT", ru_collection(f.b, "carolc"), "{\"data\": {}}", 201);
	DENIED(CAROL, "PUT", ru_fmt("%s/carolg", f.groups), "{\"data\": {}}");
	DENIED(CAROL, "PATCH", f.c, PATCH_BODY);
	DENIED(CAROL, "PUT", f.c, "{\"data\": {}}"); /* existing: needs write */
	EXPECT(DAVE, "PUT", ru_fmt("%s/daveg", f.groups), "{\"data\": {\"members\": []}}", 201);
	EXPECT(DAVE, "POST", f.groups, "{\"data\": {\"id\": \"daveg2\"}}", 201);
	DENIED(DAVE, "POST", f.colls, "{\"data\": {}}");
	DENIED(DAVE, "PATCH", f.g, "{\"data\": {\"members\": []}}");
	/* lists: their own creations only */
	if (strcmp(mine, "carolc") < 0)
		LIST_IS(CAROL, f.colls, ru_fmt("%s,carolc", mine));
	else
		LIST_IS(CAROL, f.colls, ru_fmt("carolc,%s", mine));
	LIST_IS(DAVE, f.groups, "daveg,daveg2");
	/* Dave cannot create collections, so an empty readable set is a refusal */
	DENIED(DAVE, "GET", f.colls, NULL);
	/* their creations are theirs: records in Carol's collection */
	EXPECT(CAROL, "PUT", ru_record(f.b, "carolc", "x"), "{\"data\": {}}", 201);
	DENIED(DAVE, "GET", ru_record(f.b, "carolc", "x"), NULL);
	DENIED(ANON, "GET", f.bucket, NULL);
	/* reading a bucket's attributes is not reading the bucket: not in their lists */
	CHECK(!in_list(CAROL, "/v1/buckets", f.b), "collection:create lists the bucket %s", f.b);
	CHECK(!in_list(DAVE, "/v1/buckets", f.b), "group:create lists the bucket %s", f.b);
}

/* collection write: everything in the collection, nothing of the bucket. */
static void test_collection_write(void)
{
	struct fx f;

	FIXTURE(&f);
	ACL(f.c, ru_fmt("{\"write\": [\"%s\", \"%s\"]}", uid[ALICE], uid[BOB]));
	CAN_READ(BOB, f.c);
	LIST_IS(BOB, f.records, "r1,r2");
	CAN_READ(BOB, f.r1);
	EXPECT(BOB, "PATCH", f.c, PATCH_BODY, 200);
	EXPECT(BOB, "PATCH", f.r1, PATCH_BODY, 200);
	EXPECT(BOB, "PUT", f.r2, "{\"data\": {\"n\": 22}}", 200);
	EXPECT(BOB, "POST", f.records, "{\"data\": {\"id\": \"bobr\"}}", 201);
	EXPECT(BOB, "PUT", ru_record(f.b, "c", "bobr2"), "{\"data\": {}}", 201);
	EXPECT(BOB, "DELETE", f.r2, NULL, 200);
	/* not the bucket, nor its other children */
	DENIED(BOB, "GET", f.bucket, NULL);
	DENIED(BOB, "PATCH", f.bucket, PATCH_BODY);
	DENIED(BOB, "POST", f.colls, "{\"data\": {}}");
	DENIED(BOB, "GET", f.c2, NULL);
	DENIED(BOB, "GET", f.records2, NULL);
	DENIED(BOB, "GET", f.s1, NULL);
	DENIED(BOB, "GET", f.g, NULL);
	DENIED(BOB, "PUT", ru_fmt("%s/bobg", f.groups), "{\"data\": {}}");
	LIST_IS(BOB, f.colls, "c");
	DENIED_EVERYWHERE(CAROL, &f);
	EXPECT(BOB, "DELETE", f.c, NULL, 200);
	EXPECT(ALICE, "GET", f.c, NULL, 404);
}

/* collection read: its attributes and records, no write. */
static void test_collection_read(void)
{
	struct fx f;

	FIXTURE(&f);
	ACL(f.c, one("read", BOB));
	HIDDEN_ACL(BOB, f.c);
	LIST_IS(BOB, f.records, "r1,r2");
	HIDDEN_ACL(BOB, f.r1);
	DENIED(BOB, "PATCH", f.c, PATCH_BODY);
	DENIED(BOB, "DELETE", f.c, NULL);
	DENIED(BOB, "POST", f.records, "{\"data\": {}}");
	DENIED(BOB, "PUT", ru_record(f.b, "c", "bobr"), "{\"data\": {}}");
	DENIED(BOB, "PATCH", f.r1, PATCH_BODY);
	DENIED(BOB, "DELETE", f.r1, NULL);
	DENIED(BOB, "DELETE", f.records, NULL);
	DENIED(BOB, "GET", f.bucket, NULL);
	DENIED(BOB, "GET", f.c2, NULL);
	DENIED(BOB, "GET", f.s1, NULL);
	DENIED(BOB, "GET", f.g, NULL);
	LIST_IS(ALICE, f.records, "r1,r2");
}

/* record:create on the collection: creating records and reading the collection. */
static void test_record_create(void)
{
	struct fx f;
	struct http_resp r;
	char mine[64] = "";

	FIXTURE(&f);
	ACL(f.c, one("record:create", CAROL));
	HIDDEN_ACL(CAROL, f.c);
	/* nothing readable yet, but may create: an empty list, not a refusal */
	LIST_IS(CAROL, f.records, "");
	as(&r, CAROL, "POST", f.records, "{\"data\": {\"by\": \"carol\"}}", NULL);
	assert_status(&r, 201);
	if (ru_str(resp_json(&r, "data"), "id") != NULL)
		SET(mine, ru_str(resp_json(&r, "data"), "id"));
	check_exact(resp_json(&r, "permissions"), ru_fmt("{\"write\": [\"%s\"]}", uid[CAROL]),
		    "POST record: permissions");
	http_resp_free(&r);
	EXPECT(CAROL, "PUT", ru_record(f.b, "c", "zz"), "{\"data\": {}}", 201);
	LIST_IS(CAROL, f.records, ru_fmt("%s,zz", mine));
	CAN_READ(CAROL, ru_record(f.b, "c", mine));
	EXPECT(CAROL, "PATCH", ru_record(f.b, "c", "zz"), PATCH_BODY, 200);
	/* others' records and the collection itself stay out of reach */
	DENIED(CAROL, "GET", f.r1, NULL);
	DENIED(CAROL, "PATCH", f.r1, PATCH_BODY);
	DENIED(CAROL, "PUT", f.r1, "{\"data\": {}}"); /* existing: needs write */
	DENIED(CAROL, "DELETE", f.r2, NULL);
	DENIED(CAROL, "PATCH", f.c, PATCH_BODY);
	DENIED(CAROL, "GET", f.bucket, NULL);
	DENIED(CAROL, "GET", f.records2, NULL);
	DENIED(CAROL, "POST", f.records2, "{\"data\": {}}");
	/* Alice still sees everything, Carol's records included */
	LIST_IS(ALICE, f.records, ru_fmt("%s,r1,r2,zz", mine));
	/* a plural DELETE by Carol deletes hers only */
	as(&r, CAROL, "DELETE", f.records, NULL, NULL);
	CHECK(r.status == 200 && strcmp(ru_ids_csv(&r, true), ru_fmt("%s,zz", mine)) == 0,
	      "Carol's DELETE of the list: expected only hers deleted: HTTP %ld %s", r.status,
	      body_snip(&r));
	http_resp_free(&r);
	LIST_IS(ALICE, f.records, "r1,r2");
}

/* record write / record read: that record only; write implies read. */
static void test_record_acl(void)
{
	struct fx f;
	struct http_resp r;

	FIXTURE(&f);
	ACL(f.r1, ru_fmt("{\"write\": [\"%s\", \"%s\"]}", uid[ALICE], uid[BOB]));
	ACL(f.r2, one("read", CAROL));
	/* Bob: write on r1, hence read */
	as(&r, BOB, "GET", f.r1, NULL, NULL);
	assert_status(&r, 200);
	CHECK(acl_has(r.json, "write", uid[BOB]), "a record writer does not see its ACL: %s",
	      body_snip(&r));
	http_resp_free(&r);
	EXPECT(BOB, "PATCH", f.r1, PATCH_BODY, 200);
	EXPECT(BOB, "PUT", f.r1, "{\"data\": {\"n\": 11}}", 200);
	LIST_IS(BOB, f.records, "r1");
	DENIED(BOB, "GET", f.r2, NULL);
	DENIED(BOB, "PATCH", f.r2, PATCH_BODY);
	DENIED(BOB, "GET", f.c, NULL);
	DENIED(BOB, "POST", f.records, "{\"data\": {}}");
	DENIED(BOB, "GET", f.s1, NULL);
	/* Carol: read on r2 */
	HIDDEN_ACL(CAROL, f.r2);
	LIST_IS(CAROL, f.records, "r2");
	DENIED(CAROL, "PATCH", f.r2, PATCH_BODY);
	DENIED(CAROL, "PUT", f.r2, "{\"data\": {}}");
	DENIED(CAROL, "DELETE", f.r2, NULL);
	DENIED(CAROL, "GET", f.r1, NULL);
	DENIED(CAROL, "GET", f.c, NULL);
	DENIED(CAROL, "DELETE", f.records, NULL); /* nothing writable, may not create */
	/* a plural DELETE deletes only what one may write */
	as(&r, BOB, "DELETE", f.records, NULL, NULL);
	CHECK(r.status == 200 && strcmp(ru_ids_csv(&r, true), "r1") == 0,
	      "Bob's DELETE of the list: expected only r1 deleted: HTTP %ld %s", r.status,
	      body_snip(&r));
	http_resp_free(&r);
	LIST_IS(ALICE, f.records, "r2");
	/* no right at all and no create permission: refused, not an empty list */
	DENIED(DAVE, "GET", f.records, NULL);
	DENIED(ANON, "GET", f.records, NULL);
	EXPECT(DAVE, "HEAD", f.records, NULL, 403);
	EXPECT(ANON, "HEAD", f.records, NULL, 401);
}

/* --- missing objects: 404 to those who may read the parent, else 403 ----------------------- */

static void test_missing_objects(void)
{
	struct fx f;
	char nob[RU_ID_LEN], missing[256];

	FIXTURE(&f);
	ACL(f.c, one("read", BOB));
	SET(missing, ru_record(f.b, "c", "nope"));
	EXPECT_ERR(BOB, "GET", missing, NULL, 404, 110);
	EXPECT_ERR(BOB, "PATCH", missing, PATCH_BODY, 404, 110);
	EXPECT_ERR(BOB, "DELETE", missing, NULL, 404, 110);
	EXPECT_ERR(ALICE, "DELETE", missing, NULL, 404, 110);
	DENIED(CAROL, "GET", missing, NULL);
	DENIED(CAROL, "PATCH", missing, PATCH_BODY);
	DENIED(CAROL, "DELETE", missing, NULL);
	DENIED(ANON, "PATCH", missing, PATCH_BODY);
	DENIED(ANON, "DELETE", missing, NULL);
	/* creating a missing record needs record:create, reading the collection is not enough */
	DENIED(BOB, "PUT", missing, "{\"data\": {}}");
	/* a deleted record is missing too */
	EXPECT(ALICE, "DELETE", f.r2, NULL, 200);
	EXPECT_ERR(BOB, "GET", f.r2, NULL, 404, 110);
	DENIED(CAROL, "GET", f.r2, NULL);
	/* anything in a missing bucket: 403 to an ordinary user, whoever they are */
	unique_id(nob, sizeof nob, "pmissing");
	DENIED(BOB, "GET", ru_record(nob, "c", "r1"), NULL);
	DENIED(ALICE, "GET", ru_record(nob, "c", "r1"), NULL);
	DENIED(ALICE, "PATCH", ru_record(nob, "c", "r1"), PATCH_BODY);
	DENIED(ALICE, "GET", ru_records(nob, "c"), NULL);
	DENIED(ANON, "GET", ru_record(nob, "c", "r1"), NULL);
	DENIED(ALICE, "GET", ru_bucket(nob), NULL);
}

/* --- groups ------------------------------------------------------------------------- */

static void test_groups(void)
{
	struct fx f;
	struct http_resp r;

	FIXTURE(&f);
	EXPECT(ALICE, "PUT", f.g, ru_fmt("{\"data\": {\"members\": [\"%s\"]}}", uid[BOB]), 200);
	CHECK(hello_lists(BOB, f.group_uri), "hello of a member does not list %s", f.group_uri);
	CHECK(!hello_lists(CAROL, f.group_uri), "hello of a non-member lists %s", f.group_uri);
	DENIED(BOB, "GET", f.c, NULL);
	ACL(f.c, ru_fmt("{\"read\": [\"%s\"]}", f.group_uri));
	HIDDEN_ACL(BOB, f.c);
	LIST_IS(BOB, f.records, "r1,r2");
	CAN_READ(BOB, f.r1);
	DENIED(BOB, "PATCH", f.r1, PATCH_BODY);
	DENIED(CAROL, "GET", f.c, NULL);

	/* removed from the members: no longer */
	EXPECT(ALICE, "PATCH", f.g, "{\"data\": {\"members\": []}}", 200);
	DENIED(BOB, "GET", f.c, NULL);
	DENIED(BOB, "GET", f.r1, NULL);
	CHECK(!hello_lists(BOB, f.group_uri), "hello still lists %s after leaving it", f.group_uri);
	/* back in, then the group deleted: no longer either */
	EXPECT(ALICE, "PATCH", f.g, ru_fmt("{\"data\": {\"members\": [\"%s\"]}}", uid[BOB]), 200);
	CAN_READ(BOB, f.c);
	EXPECT(ALICE, "DELETE", f.g, NULL, 200);
	DENIED(BOB, "GET", f.c, NULL);
	CHECK(!hello_lists(BOB, f.group_uri), "hello still lists the deleted group %s",
	      f.group_uri);
	/* a new group of the same name does not inherit the old members */
	EXPECT(ALICE, "PUT", f.g, "{\"data\": {}}", 201);
	DENIED(BOB, "GET", f.c, NULL);

	/* a group in write: its members write, and see the ACL like any writer (Kinto's
	 * prefixed_principals include the groups) */
	EXPECT(ALICE, "PUT", ru_fmt("%s/w", f.groups),
	       ru_fmt("{\"data\": {\"members\": [\"%s\"]}}", uid[CAROL]), 201);
	ACL(f.r2, ru_fmt("{\"write\": [\"%s\", \"/buckets/%s/groups/w\"]}", uid[ALICE], f.b));
	as(&r, CAROL, "GET", f.r2, NULL, NULL);
	assert_status(&r, 200);
	CHECK(acl_has(r.json, "write", ru_fmt("/buckets/%s/groups/w", f.b)),
	      "a writer through a group gets no ACL in the response: %s", body_snip(&r));
	http_resp_free(&r);
	LIST_IS(CAROL, f.records, "r2");
	EXPECT(CAROL, "PATCH", f.r2, PATCH_BODY, 200);
	DENIED(CAROL, "PATCH", f.r1, PATCH_BODY);

	/* system.Authenticated as a member: every user is in */
	EXPECT(ALICE, "PUT", ru_fmt("%s/everyone", f.groups),
	       "{\"data\": {\"members\": [\"system.Authenticated\"]}}", 201);
	ACL(f.c2, ru_fmt("{\"read\": [\"/buckets/%s/groups/everyone\"]}", f.b));
	CAN_READ(DAVE, f.s1);
	CAN_READ(BOB, f.c2);
	DENIED(ANON, "GET", f.s1, NULL);

	/* members must be a list of user ids or system.Authenticated */
	EXPECT_ERR(ALICE, "PUT", f.g, "{\"data\": {\"members\": \"bob\"}}", 400, 107);
	EXPECT_ERR(ALICE, "PUT", f.g, "{\"data\": {\"members\": [\"system.Everyone\"]}}", 400, 107);
	EXPECT_ERR(ALICE, "PUT", f.g,
		   ru_fmt("{\"data\": {\"members\": [\"/buckets/%s/groups/everyone\"]}}", f.b), 400,
		   107);
	EXPECT_ERR(ALICE, "PATCH", f.g, "{\"data\": {\"members\": {\"a\": 1}}}", 400, 107);
	EXPECT_ERR(ALICE, "POST", f.groups, "{\"data\": {\"members\": [42]}}", 400, 107);
	/* the refused writes changed nothing: Carol is still the member */
	EXPECT(CAROL, "PATCH", f.r2, PATCH_BODY, 200);
}

/* --- system.Everyone and system.Authenticated -------------------------------------------- */

static void test_special_principals(void)
{
	struct fx f;
	struct http_resp r;

	FIXTURE(&f);
	ACL(f.r1, "{\"read\": [\"system.Everyone\"]}");
	ACL(f.r2, "{\"read\": [\"system.Authenticated\"]}");
	CAN_READ(ANON, f.r1);
	HIDDEN_ACL(CAROL, f.r1);
	DENIED(ANON, "GET", f.r2, NULL);
	HIDDEN_ACL(CAROL, f.r2);
	LIST_IS(ANON, f.records, "r1");
	LIST_IS(CAROL, f.records, "r1,r2");
	DENIED(ANON, "PATCH", f.r1, PATCH_BODY);
	DENIED(CAROL, "PATCH", f.r2, PATCH_BODY);

	/* Everyone may create: an anonymous creator is written as system.Everyone */
	ACL(f.c2, "{\"record:create\": [\"system.Everyone\"]}");
	as(&r, ANON, "PUT", ru_record(f.b, "c2", "anon"), "{\"data\": {}}", NULL);
	assert_status(&r, 201);
	check_exact(resp_json(&r, "permissions"), "{\"write\": [\"system.Everyone\"]}",
		    "anonymous PUT: permissions");
	http_resp_free(&r);
	/* ...so every caller may write it */
	EXPECT(DAVE, "PATCH", ru_record(f.b, "c2", "anon"), PATCH_BODY, 200);
	LIST_IS(ANON, f.records2, "anon");
	DENIED(ANON, "GET", f.s1, NULL);

	/* Authenticated in write of a collection: any user, not anonymous */
	ACL(f.c, "{\"write\": [\"system.Authenticated\"]}");
	EXPECT(DAVE, "POST", f.records, "{\"data\": {\"id\": \"dave\"}}", 201);
	DENIED(ANON, "POST", f.records, "{\"data\": {}}");
	DENIED(ANON, "GET", f.c, NULL);
}

/* --- permissions in request bodies ------------------------------------------------------ */

/* The body's error message names every permission the resource has. */
static void unknown_perm_at(const char *method, const char *path, const char *const *allowed,
			    const char *file, unsigned line)
{
	struct http_resp r;
	const char *msg;

	as(&r, ALICE, method, path, "{\"data\": {}, \"permissions\": {\"admin\": [\"x\"]}}", NULL);
	assert_error_at(&r, 400, 107, file, line);
	msg = ru_str(r.json, "message");
	for (const char *const *a = allowed; *a != NULL; a++)
		check_at(msg != NULL && strstr(msg, *a) != NULL, file, line,
			 "%s %s: the message does not name %s: %s", method, path, *a,
			 msg ? msg : "none");
	check_at(msg != NULL && strstr(msg, "admin") != NULL, file, line,
		 "the message does not name the unknown permission: %s", msg ? msg : "none");
	http_resp_free(&r);
}

static void test_permissions_validation(void)
{
	static const char *const of_bucket[] = { "read", "write", "collection:create",
						 "group:create", NULL };
	static const char *const of_collection[] = { "read", "write", "record:create", NULL };
	static const char *const of_record[] = { "read", "write", NULL };
	struct fx f;

	FIXTURE(&f);
	unknown_perm_at("PATCH", f.bucket, of_bucket, __FILE__, __LINE__);
	unknown_perm_at("PUT", f.c, of_collection, __FILE__, __LINE__);
	unknown_perm_at("POST", f.records, of_record, __FILE__, __LINE__);
	unknown_perm_at("PUT", ru_record(f.b, "c", "new"), of_record, __FILE__, __LINE__);
	/* a child's create permission belongs to its parent only */
	EXPECT_ERR(ALICE, "PATCH", f.r1, "{\"permissions\": {\"record:create\": [\"x\"]}}", 400,
		   107);
	EXPECT_ERR(ALICE, "PATCH", f.c, "{\"permissions\": {\"collection:create\": [\"x\"]}}", 400,
		   107);
	/* principals: a list of strings */
	EXPECT_ERR(ALICE, "PATCH", f.r1, "{\"permissions\": {\"read\": \"system.Everyone\"}}", 400,
		   107);
	EXPECT_ERR(ALICE, "PATCH", f.r1, "{\"permissions\": {\"read\": {\"a\": \"a\"}}}", 400, 107);
	EXPECT_ERR(ALICE, "PATCH", f.r1, "{\"permissions\": {\"read\": [42]}}", 400, 107);
	EXPECT_ERR(ALICE, "PUT", f.r1, "{\"data\": {}, \"permissions\": {\"write\": 1}}", 400, 107);
	EXPECT_ERR(ALICE, "PATCH", f.r1, "{\"permissions\": [\"read\"]}", 400, 107);
	/* nothing of it was applied */
	DENIED(ANON, "GET", f.r1, NULL);
	EXPECT(ALICE, "GET", ru_record(f.b, "c", "new"), NULL, 404);
	ACL_IS(f.r1, ru_fmt("{\"write\": [\"%s\"]}", uid[ALICE]));
}

/* PUT: the given permissions replace, the caller is put back in write. */
static void test_put_permissions(void)
{
	struct fx f;

	FIXTURE(&f);
	ACL(f.r1, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\", \"%s\"]}", uid[BOB], uid[ALICE],
			 uid[CAROL]));
	ACL_IS(f.r1, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\", \"%s\"]}", uid[BOB],
			    uid[ALICE], uid[CAROL]));
	/* write without the caller: the caller is added back */
	EXPECT(ALICE, "PUT", f.r1,
	       ru_fmt("{\"data\": {\"n\": 1}, \"permissions\": {\"read\": [\"%s\"], \"write\": "
		      "[\"%s\"]}}",
		      uid[DAVE], uid[CAROL]),
	       200);
	ACL_IS(f.r1, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\", \"%s\"]}", uid[DAVE],
			    uid[ALICE], uid[CAROL]));
	CAN_READ(DAVE, f.r1);
	DENIED(BOB, "GET", f.r1, NULL);
	EXPECT(CAROL, "PATCH", f.r1, PATCH_BODY, 200);
	/* a PUT without permissions keeps them all */
	EXPECT(ALICE, "PUT", f.r1, "{\"data\": {\"n\": 2}}", 200);
	CAN_READ(DAVE, f.r1);
	EXPECT(CAROL, "PATCH", f.r1, PATCH_BODY, 200);
	/* a PUT without data keeps the data (Kinto) */
	EXPECT(ALICE, "PUT", f.r1, ru_fmt("{\"permissions\": {\"read\": [\"%s\"]}}", uid[BOB]),
	       200);
	CAN_READ(BOB, f.r1);
	DENIED(DAVE, "GET", f.r1, NULL);
	EXPECT(ALICE, "PUT", f.r2, "{\"permissions\": {\"read\": [\"system.Everyone\"]}}", 200);
	{
		struct http_resp r;

		as(&r, ANON, "GET", f.r2, NULL, NULL);
		assert_status(&r, 200);
		check_data(&r, "{\"n\": 2}");
		http_resp_free(&r);
	}
}

/*
 * Kinto (docs/protocol.md §3, kinto/core/resource process_object): a PUT with
 * permissions replaces the whole ACL; the permissions it does not name are
 * emptied (then the caller is re-added to write).
 */
static void test_put_replaces_whole_acl(void)
{
	struct fx f;

	FIXTURE(&f);
	ACL(f.r1, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\", \"%s\"]}", uid[BOB], uid[ALICE],
			 uid[CAROL]));
	EXPECT(ALICE, "PUT", f.r1,
	       ru_fmt("{\"data\": {}, \"permissions\": {\"read\": [\"%s\"]}}", uid[DAVE]), 200);
	ACL_IS(f.r1, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\"]}", uid[DAVE], uid[ALICE]));
	DENIED(CAROL, "PATCH", f.r1, PATCH_BODY);
	/* and on a collection, its record:create too */
	ACL(f.c, ru_fmt("{\"record:create\": [\"%s\"]}", uid[CAROL]));
	EXPECT(ALICE, "PUT", f.c,
	       ru_fmt("{\"data\": {}, \"permissions\": {\"read\": [\"%s\"]}}", uid[DAVE]), 200);
	ACL_IS(f.c, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\"]}", uid[DAVE], uid[ALICE]));
	DENIED(CAROL, "POST", f.records, "{\"data\": {}}");
}

/* PATCH: application/json replaces the given ones, merge-patch null removes, JSON Patch adds. */
static void test_patch_permissions(void)
{
	struct fx f;
	struct http_resp r;
	char merge[] = "Content-Type: application/merge-patch+json";
	char jsonpatch[] = "Content-Type: application/json-patch+json";

	FIXTURE(&f);
	ACL(f.r1, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\", \"%s\"]}", uid[BOB], uid[ALICE],
			 uid[CAROL]));
	/* application/json: only read changes */
	ACL(f.r1, one("read", DAVE));
	ACL_IS(f.r1, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\", \"%s\"]}", uid[DAVE],
			    uid[ALICE], uid[CAROL]));
	DENIED(BOB, "GET", f.r1, NULL);
	/* merge-patch: null removes read, write stays */
	as(&r, ALICE, "PATCH", f.r1, "{\"permissions\": {\"read\": null}}", merge);
	assert_status(&r, 200);
	CHECK(!acl_has(r.json, "read", uid[DAVE]) && acl_has(r.json, "write", uid[CAROL]),
	      "merge-patch read: null: %s", body_snip(&r));
	http_resp_free(&r);
	ACL_IS(f.r1, ru_fmt("{\"write\": [\"%s\", \"%s\"]}", uid[ALICE], uid[CAROL]));
	DENIED(DAVE, "GET", f.r1, NULL);
	EXPECT(CAROL, "PATCH", f.r1, PATCH_BODY, 200);
	/* JSON Patch: add a reader to an object without read */
	as(&r, ALICE, "PATCH", f.r2,
	   ru_fmt("[{\"op\": \"add\", \"path\": \"/permissions/read/%s\"}]", uid[BOB]), jsonpatch);
	assert_status(&r, 200);
	CHECK(acl_has(r.json, "read", uid[BOB]), "JSON Patch add /permissions/read/...: %s",
	      body_snip(&r));
	http_resp_free(&r);
	HIDDEN_ACL(BOB, f.r2);
	ACL_IS(f.r2, ru_fmt("{\"read\": [\"%s\"], \"write\": [\"%s\"]}", uid[BOB], uid[ALICE]));
	/* ...and remove it */
	as(&r, ALICE, "PATCH", f.r2,
	   ru_fmt("[{\"op\": \"remove\", \"path\": \"/permissions/read/%s\"}]", uid[BOB]),
	   jsonpatch);
	assert_status(&r, 200);
	http_resp_free(&r);
	DENIED(BOB, "GET", f.r2, NULL);
	/* the writer PATCHing is kept in write whatever the patch says */
	as(&r, CAROL, "PATCH", f.r1, "{\"permissions\": {\"write\": []}}", NULL);
	assert_status(&r, 200);
	check_exact(resp_json(&r, "permissions"), ru_fmt("{\"write\": [\"%s\"]}", uid[CAROL]),
		    "permissions after Carol's PATCH write: []");
	http_resp_free(&r);
	/* Alice is no longer in its own write: no ACL shown, though her bucket lets her
	 * write it (and writing puts her back in) */
	HIDDEN_ACL(ALICE, f.r1);
	EXPECT(ALICE, "PATCH", f.r1, PATCH_BODY, 200);
	ACL_IS(f.r1, ru_fmt("{\"write\": [\"%s\", \"%s\"]}", uid[ALICE], uid[CAROL]));
}

/* --- <resource>_<perm>_principals settings --------------------------------------------- */

static void test_settings_principals(void)
{
	struct fx f;
	bool ok;

	FIXTURE(&f);
	DENIED(BOB, "GET", f.r1, NULL);
	ok = ru_reload("\nrecord_read_principals = system.Authenticated\n");
	CHECK(ok, "reload with record_read_principals failed");
	if (ok) {
		HIDDEN_ACL(BOB, f.r1);
		CAN_READ(DAVE, f.s1);
		LIST_IS(BOB, f.records, "r1,r2");
		DENIED(ANON, "GET", f.r1, NULL);
		DENIED(ANON, "GET", f.records, NULL);
		DENIED(BOB, "PATCH", f.r1, PATCH_BODY);
		DENIED(BOB, "POST", f.records, "{\"data\": {}}");
		DENIED(BOB, "GET", f.c, NULL); /* records only */
		DENIED(BOB, "GET", f.bucket, NULL);
	}
	ok = ru_reload_restore();
	CHECK(ok, "restoring the config failed");
	DENIED(BOB, "GET", f.r1, NULL);
	DENIED(BOB, "GET", f.records, NULL);
}

/* --- deleting a bucket forgets its ACEs and memberships ------------------------------------ */

static void test_delete_bucket_forgets(void)
{
	struct fx f;
	struct http_resp r;

	FIXTURE(&f);
	ACL(f.bucket, one("read", BOB));
	ACL(f.c, one("write", DAVE));
	ACL(f.r1, one("read", DAVE));
	EXPECT(ALICE, "PUT", f.g, ru_fmt("{\"data\": {\"members\": [\"%s\"]}}", uid[DAVE]), 200);
	ACL(f.c2, ru_fmt("{\"read\": [\"%s\"]}", f.group_uri));
	CAN_READ(BOB, f.r1);
	CAN_READ(DAVE, f.s1);
	CHECK(hello_lists(DAVE, f.group_uri), "hello does not list %s", f.group_uri);
	EXPECT(ALICE, "DELETE", f.bucket, NULL, 200);
	CHECK(!hello_lists(DAVE, f.group_uri), "hello lists %s of a deleted bucket", f.group_uri);

	/* Carol takes the name: none of Alice's grants come back */
	as(&r, CAROL, "PUT", f.bucket, "{\"data\": {}}", NULL);
	assert_status(&r, 201);
	check_exact(resp_json(&r, "permissions"), ru_fmt("{\"write\": [\"%s\"]}", uid[CAROL]),
		    "the recreated bucket's permissions");
	http_resp_free(&r);
	EXPECT(CAROL, "PUT", f.c, "{\"data\": {}}", 201);
	EXPECT(CAROL, "PUT", f.c2, "{\"data\": {}}", 201);
	EXPECT(CAROL, "PUT", f.r1, "{\"data\": {}}", 201);
	EXPECT(CAROL, "PUT", f.s1, "{\"data\": {}}", 201);
	EXPECT(CAROL, "PUT", f.g, "{\"data\": {}}", 201);
	DENIED(ALICE, "GET", f.bucket, NULL);
	DENIED(ALICE, "PATCH", f.bucket, PATCH_BODY);
	DENIED(BOB, "GET", f.bucket, NULL);
	DENIED(BOB, "GET", f.r1, NULL);
	DENIED(DAVE, "GET", f.c, NULL);
	DENIED(DAVE, "PATCH", f.c, PATCH_BODY);
	DENIED(DAVE, "GET", f.r1, NULL);
	DENIED(DAVE, "GET", f.s1, NULL);
	CHECK(!hello_lists(DAVE, f.group_uri), "hello lists the recreated group %s", f.group_uri);
	/* the same for a collection deleted and recreated by its bucket's owner */
	EXPECT(CAROL, "PATCH", f.c2, ru_fmt("{\"permissions\": {\"read\": [\"%s\"]}}", uid[BOB]),
	       200);
	CAN_READ(BOB, f.s1);
	EXPECT(CAROL, "DELETE", f.c2, NULL, 200);
	EXPECT(CAROL, "PUT", f.c2, "{\"data\": {}}", 201);
	DENIED(BOB, "GET", f.c2, NULL);
	DENIED(BOB, "GET", f.records2, NULL);
}

/* --- registration ------------------------------------------------------------------------- */

static int suite_init(void)
{
	for (int w = ALICE; w < ANON; w++) {
		struct http_resp r;
		const char *id;

		basic_auth(auth_hdr[w], sizeof auth_hdr[w], names[w], "permission-password");
		as(&r, w, "GET", "/v1/", NULL, NULL);
		id = ru_str(resp_json(&r, "user"), "id");
		if (id == NULL || strncmp(id, "basicauth:", 10) != 0) {
			fprintf(stderr, "permissions: hello gives %s no user.id: %s\n", names[w],
				body_snip(&r));
			http_resp_free(&r);
			return -1;
		}
		SET(uid[w], id);
		http_resp_free(&r);
	}
	return 0;
}

static int suite_clean(void)
{
	return ru_reload_restore() ? 0 : -1;
}

void test_permissions_register(void)
{
	CU_pSuite s = CU_add_suite("permissions", suite_init, suite_clean);

	CU_add_test(s, "bucket:create: authenticated yes, anonymous 401", test_bucket_create);
	CU_add_test(s, "creator in write; readers get permissions {}", test_creator_and_readers);
	CU_add_test(s, "a creation's permissions are what a read returns",
	    test_created_acl_matches_read);
	CU_add_test(s, "bucket write: everything below", test_bucket_write);
	CU_add_test(s, "bucket read: read below, no write", test_bucket_read);
	CU_add_test(s, "collection:create, group:create on the bucket", test_child_create);
	CU_add_test(s, "collection write: the collection, not the bucket", test_collection_write);
	CU_add_test(s, "collection read: the collection and its records", test_collection_read);
	CU_add_test(s, "record:create: create, read the collection", test_record_create);
	CU_add_test(s, "record write/read: one record; lists filtered", test_record_acl);
	CU_add_test(s, "missing objects: 404 or 403", test_missing_objects);
	CU_add_test(s, "groups as principals, members kept in sync", test_groups);
	CU_add_test(s, "system.Everyone and system.Authenticated", test_special_principals);
	CU_add_test(s, "permissions in bodies: names and principals", test_permissions_validation);
	CU_add_test(s, "PUT permissions: replace, caller back in write", test_put_permissions);
	CU_add_test(s, "PUT permissions: the others are emptied (Kinto)",
		    test_put_replaces_whole_acl);
	CU_add_test(s, "PATCH permissions: json, merge-patch, json-patch", test_patch_permissions);
	CU_add_test(s, "record_read_principals setting", test_settings_principals);
	CU_add_test(s, "deleting a bucket forgets its ACEs", test_delete_bucket_forgets);
}
