/*
 * GET/HEAD /v1/permissions, Kinto's permissions endpoint (README, "Listing
 * permissions"), over real HTTP: switched off it is a 404; switched on
 * (a reload) it lists, for each caller, the live objects their principals
 * hold an ACE on with the permissions Kinto's tree shows on that object,
 * plus the settings' grants; filters, sort, pages and HEAD counts as any
 * list. Hostile callers beside it: another user's objects, groups they are
 * not in, foreign tokens, filters on fields an entry does not have.
 * (The suite "permissions" is about ACLs themselves.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resource_util.h"

enum who { ALICE, BOB, CAROL, DAVE, ANON, NWHO };

static const char *const names[NWHO] = { "pe-alice", "pe-bob", "pe-carol", "pe-dave",
					 "anonymous" };
static char auth_hdr[ANON][512];
static char uid[ANON][128];
static char bkt[RU_ID_LEN]; /* alice's: collection c, group g, record c/r */

static void as(struct http_resp *r, enum who who, const char *method, const char *path,
	       const char *body)
{
	const char *h[2] = { who != ANON ? auth_hdr[who] : NULL, NULL };

	http_request(method, path, who != ANON ? h : NULL, body, r);
}

static void ok_at(enum who who, const char *method, const char *path, const char *body,
		  long status, const char *file, unsigned line)
{
	struct http_resp r;

	as(&r, who, method, path, body);
	check_at(r.status == status, file, line, "%s %s as %s: HTTP %ld, expected %ld: %s",
		 method, path, names[who], r.status, status, body_snip(&r));
	http_resp_free(&r);
}
#define OK(w, m, p, b, s) ok_at((w), (m), (p), (b), (s), __FILE__, __LINE__)

/* The entries' uris, comma-separated in order, or "<HTTP n>" on anything but a 200 list. */
static const char *uris(const struct http_resp *r)
{
	static char out[8192];
	json_object *data = resp_json(r, "data");
	size_t n = 0;

	out[0] = '\0';
	if (r->status != 200 || !json_object_is_type(data, json_type_array))
		return ru_fmt("<HTTP %ld %s>", r->status, body_snip(r));
	for (size_t i = 0; i < json_object_array_length(data); i++) {
		const char *u = ru_str(json_object_array_get_idx(data, i), "uri");

		n += (size_t)snprintf(out + n, sizeof out - n, "%s%s", i ? "," : "", u ? u : "?");
		if (n >= sizeof out)
			break;
	}
	return out;
}

/* who's GET /v1/permissions?query must list exactly want (uris, in order). */
static void lists_at(enum who who, const char *query, const char *want, const char *file,
		     unsigned line)
{
	struct http_resp r;
	const char *got;

	as(&r, who, "GET", ru_fmt("/v1/permissions?%s", query), NULL);
	got = uris(&r);
	check_at(strcmp(got, want) == 0, file, line, "permissions?%s as %s: [%s], expected [%s]",
		 query, names[who], got, want);
	http_resp_free(&r);
}
#define LISTS(w, q, want) lists_at((w), (q), (want), __FILE__, __LINE__)

/* "/buckets/<bkt>" + rest, an entry's uri; with /v1 before it, the URL (v). */
static const char *u(const char *rest)
{
	return ru_fmt("/buckets/%s%s", bkt, rest);
}

static const char *v(const char *rest)
{
	return ru_fmt("/v1/buckets/%s%s", bkt, rest);
}

/* The entry of uri in who's list (filtered on alice's bucket), as compact JSON, or "". */
static const char *entry_of(enum who who, const char *uri)
{
	static char out[2048];
	struct http_resp r;
	json_object *data;

	out[0] = '\0';
	as(&r, who, "GET", ru_fmt("/v1/permissions?bucket_id=%s", bkt), NULL);
	data = resp_json(&r, "data");
	for (size_t i = 0; data != NULL && i < json_object_array_length(data); i++) {
		json_object *e = json_object_array_get_idx(data, i);

		if (ru_str(e, "uri") != NULL && strcmp(ru_str(e, "uri"), uri) == 0)
			snprintf(out, sizeof out, "%s", json_object_to_json_string_ext(e,
				 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	http_resp_free(&r);
	return out;
}

/* who's entry for uri must have these permissions (a JSON array, sorted). */
static void perms_at(enum who who, const char *uri, const char *want, const char *file,
		     unsigned line)
{
	const char *e = entry_of(who, uri);
	json_object *o = json_tokener_parse(e), *p = NULL;
	const char *got = o && json_object_object_get_ex(o, "permissions", &p) ?
		json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN) : "(no entry)";

	check_at(strcmp(got, want) == 0, file, line, "%s as %s: permissions %s, expected %s",
		 uri, names[who], got, want);
	json_object_put(o);
}
#define PERMS(w, uri, want) perms_at((w), (uri), (want), __FILE__, __LINE__)

/* who's root entry ("/") must have these permissions. */
static void root_at(enum who who, const char *want, const char *file, unsigned line)
{
	struct http_resp r;
	json_object *data, *e = NULL;
	const char *p = "(no entry)";

	as(&r, who, "GET", "/v1/permissions?resource_name=root", NULL);
	data = resp_json(&r, "data");
	if (json_object_is_type(data, json_type_array) && json_object_array_length(data) == 1)
		e = json_object_array_get_idx(data, 0);
	if (e != NULL && ru_str(e, "uri") != NULL && strcmp(ru_str(e, "uri"), "/") == 0)
		p = json_object_to_json_string_ext(json_object_object_get(e, "permissions"),
						   JSON_C_TO_STRING_PLAIN);
	check_at(strcmp(p, want) == 0, file, line, "root as %s: %s, expected %s: %s", names[who], p,
		 want, body_snip(&r));
	http_resp_free(&r);
}
#define ROOT(w, want) root_at((w), (want), __FILE__, __LINE__)

/* HEAD's Total-Records, -1 when absent or not a 200. */
static long total(enum who who, const char *query)
{
	struct http_resp r;
	const char *t;
	long n = -1;

	as(&r, who, "HEAD", ru_fmt("/v1/permissions?%s", query), NULL);
	t = resp_header(&r, "Total-Records");
	if (r.status == 200 && t != NULL)
		n = atol(t);
	http_resp_free(&r);
	return n;
}

static int suite_init(void)
{
	struct http_resp r;
	const char *id;

	for (int w = 0; w < ANON; w++) {
		basic_auth(auth_hdr[w], sizeof auth_hdr[w], names[w], "pe-Pw-1");
		as(&r, w, "GET", "/v1/", NULL);
		id = ru_str(resp_json(&r, "user"), "id");
		snprintf(uid[w], sizeof uid[w], "%s", id ? id : "");
		http_resp_free(&r);
		if (id == NULL)
			return 1;
	}
	unique_id(bkt, sizeof bkt, "pe");
	return 0;
}

static int suite_clean(void)
{
	return ru_reload_restore() ? 0 : -1;
}

/* Off (the default): a 404 as any unknown URL, and no capability. */
static void test_off(void)
{
	struct http_resp r;

	as(&r, ALICE, "GET", "/v1/permissions", NULL);
	assert_error_at(&r, 404, 111, __FILE__, __LINE__);
	http_resp_free(&r);
	as(&r, ALICE, "GET", "/v1/", NULL);
	CHECK(resp_json(&r, "capabilities.permissions_endpoint") == NULL,
	      "capability listed while off: %s", body_snip(&r));
	http_resp_free(&r);
}

/* On: the capability, and GET/HEAD only. */
static void test_on(void)
{
	struct http_resp r;

	CU_ASSERT_FATAL(ru_reload(ru_fmt("\nexperimental_permissions_endpoint = true\n"
					 "group_create_principals = %s\n", uid[CAROL])));
	as(&r, ANON, "GET", "/v1/", NULL);
	CHECK(ru_str(resp_json(&r, "capabilities.permissions_endpoint"), "url") != NULL,
	      "no permissions_endpoint capability: %s", body_snip(&r));
	http_resp_free(&r);
	OK(ANON, "GET", "/v1/permissions", NULL, 200);
	OK(ALICE, "HEAD", "/v1/permissions", NULL, 200);
	as(&r, ALICE, "POST", "/v1/permissions", "{}");
	assert_error_at(&r, 405, 115, __FILE__, __LINE__);
	http_resp_free(&r);
}

/* Alice's objects, each with what Kinto's tree shows on it, in uri order, with their ids. */
static void test_entries(void)
{
	const char *e;

	OK(ALICE, "PUT", v(""), "{\"data\":{}}", 201);
	OK(ALICE, "PUT", v("/collections/c"), "{\"data\":{}}", 201);
	OK(ALICE, "PUT", v("/groups/g"), "{\"data\":{\"members\":[]}}", 201);
	OK(ALICE, "PUT", v("/collections/c/records/r"), "{\"data\":{}}", 201);
	LISTS(ALICE, ru_fmt("bucket_id=%s", bkt), ru_fmt("%s,%s,%s,%s", u(""), u("/collections/c"),
	      u("/collections/c/records/r"), u("/groups/g")));
	PERMS(ALICE, u(""), "[\"collection:create\",\"group:create\",\"read\",\"read:attributes\","
	      "\"write\"]");
	PERMS(ALICE, u("/collections/c"), "[\"read\",\"read:attributes\",\"record:create\",\"write\"]");
	PERMS(ALICE, u("/groups/g"), "[\"read\",\"write\"]");
	PERMS(ALICE, u("/collections/c/records/r"), "[\"read\",\"write\"]");
	e = entry_of(ALICE, u("/collections/c/records/r"));
	CHECK(strstr(e, ru_fmt("\"bucket_id\":\"%s\"", bkt)) && strstr(e, "\"collection_id\":\"c\"") &&
	      strstr(e, "\"record_id\":\"r\"") && strstr(e, "\"id\":\"r\"") &&
	      strstr(e, "\"resource_name\":\"record\""), "record entry: %s", e);
	e = entry_of(ALICE, u("/groups/g"));
	CHECK(strstr(e, "\"group_id\":\"g\"") && strstr(e, "\"resource_name\":\"group\"") &&
	      !strstr(e, "collection_id"), "group entry: %s", e);
	CHECK(total(ALICE, ru_fmt("bucket_id=%s", bkt)) == 4, "Total-Records %ld, expected 4",
	      total(ALICE, ru_fmt("bucket_id=%s", bkt)));
}

/* Another user sees nothing of alice's, by any filter, count or sort. */
static void test_others_see_nothing(void)
{
	long before = total(BOB, "");

	LISTS(BOB, ru_fmt("bucket_id=%s", bkt), "");
	LISTS(BOB, ru_fmt("in_uri=%s,%s", u(""), u("/collections/c")), "");
	LISTS(BOB, ru_fmt("uri=%s", u("")), "");
	LISTS(BOB, ru_fmt("like_uri=*%s*", bkt), "");
	LISTS(ANON, ru_fmt("like_uri=*%s*", bkt), "");
	CHECK(total(BOB, ru_fmt("bucket_id=%s", bkt)) == 0, "bob counts alice's entries");
	/* Alice's new private object changes nothing bob can count. */
	OK(ALICE, "PUT", v("/collections/private"), "{\"data\":{}}", 201);
	CHECK(total(BOB, "") == before, "bob's Total-Records moved with alice's ACEs: %ld then %ld",
	      before, total(BOB, ""));
	OK(ALICE, "DELETE", v("/collections/private"), NULL, 200);
}

/* A group's grant is listed to its members only, and no longer once they leave it. */
static void test_groups(void)
{
	const char *c2 = u("/collections/c2");

	OK(ALICE, "PUT", v("/groups/readers"), ru_fmt("{\"data\":{\"members\":[\"%s\"]}}", uid[DAVE]),
	   201);
	OK(ALICE, "PUT", ru_fmt("/v1%s", c2), ru_fmt("{\"permissions\":{\"read\":[\"%s\"]}}", u("/groups/readers")), 201);
	PERMS(DAVE, c2, "[\"read\",\"read:attributes\"]");
	LISTS(DAVE, ru_fmt("bucket_id=%s", bkt), c2);
	LISTS(BOB, ru_fmt("bucket_id=%s", bkt), "");
	OK(ALICE, "PUT", v("/groups/readers"), "{\"data\":{\"members\":[]}}", 200);
	LISTS(DAVE, ru_fmt("bucket_id=%s", bkt), "");
}

/* system.Everyone reaches anonymous callers; system.Authenticated does not. */
static void test_special_principals(void)
{
	const char *pub = u("/collections/c/records/pub"), *auth = u("/collections/c/records/auth");

	OK(ALICE, "PUT", ru_fmt("/v1%s", pub), "{\"permissions\":{\"read\":[\"system.Everyone\"]}}", 201);
	OK(ALICE, "PUT", ru_fmt("/v1%s", auth), "{\"permissions\":{\"write\":[\"system.Authenticated\"]}}", 201);
	LISTS(ANON, ru_fmt("bucket_id=%s", bkt), pub);
	LISTS(BOB, ru_fmt("bucket_id=%s", bkt), ru_fmt("%s,%s", auth, pub));
	PERMS(BOB, auth, "[\"read\",\"write\"]");
	PERMS(ANON, pub, "[\"read\"]");
	/* The root: bucket:create to system.Authenticated (the default), account:create to all. */
	ROOT(ANON, "[\"account:create\"]");
	ROOT(BOB, "[\"account:create\",\"bucket:create\"]");
}

/* Deleted objects are not listed (tombstones are no objects), nor ACEs left on nothing. */
static void test_deleted(void)
{
	const char *pub = u("/collections/c/records/pub");
	char out[64];

	OK(ALICE, "DELETE", ru_fmt("/v1%s", pub), NULL, 200);
	LISTS(ANON, ru_fmt("bucket_id=%s", bkt), "");
	CHECK(harness_psql(ru_fmt("INSERT INTO access_control_entries VALUES "
				  "('/buckets/%s-ghost', 'write', '%s'), ('%s/collections/ghost', "
				  "'read', 'system.Everyone')", bkt, uid[ALICE], u("")),
			   out, sizeof out), "psql insert failed");
	LISTS(ALICE, ru_fmt("like_uri=*%s-ghost*", bkt), "");
	LISTS(ANON, ru_fmt("bucket_id=%s", bkt), "");
}

/* Kinto Admin's filters, and the others on the entries' fields. */
static void test_filters(void)
{
	char b[128];

	snprintf(b, sizeof b, "bucket_id=%s", bkt);

	LISTS(ALICE, ru_fmt("%s&exclude_resource_name=record,group", b),
	      ru_fmt("%s,%s,%s", u(""), u("/collections/c"), u("/collections/c2")));
	LISTS(ALICE, ru_fmt("%s&in_resource_name=bucket,group&_sort=-resource_name", b),
	      ru_fmt("%s,%s,%s", u("/groups/g"), u("/groups/readers"), u("")));
	LISTS(ALICE, ru_fmt("%s&has_collection_id=false", b),
	      ru_fmt("%s,%s,%s", u(""), u("/groups/g"), u("/groups/readers")));
	LISTS(ALICE, ru_fmt("%s&collection_id=c2", b), u("/collections/c2"));
	LISTS(ALICE, ru_fmt("%s&like_uri=*records*", b),
	      ru_fmt("%s,%s", u("/collections/c/records/auth"), u("/collections/c/records/r")));
	LISTS(ALICE, ru_fmt("%s&contains_permissions=record:create", b),
	      ru_fmt("%s,%s", u("/collections/c"), u("/collections/c2")));
	LISTS(ALICE, ru_fmt("%s&id=g", b), u("/groups/g"));
	LISTS(ALICE, ru_fmt("in_bucket_id=%s,nothere&resource_name=bucket", bkt), u(""));
	/* last_modified is no field of these entries: Kinto drops its filters and sort. */
	LISTS(ALICE, ru_fmt("%s&resource_name=bucket&_since=1&gt_last_modified=1&_sort=last_modified",
			    b), u(""));
	/* _fields: only what is asked (and the id). */
	{
		struct http_resp r;
		json_object *e;

		as(&r, ALICE, "GET", ru_fmt("/v1/permissions?%s&resource_name=bucket&_fields=uri", b),
		   NULL);
		e = ru_len(resp_json(&r, "data")) == 1 ?
			json_object_array_get_idx(resp_json(&r, "data"), 0) : NULL;
		CHECK(ru_str(e, "uri") != NULL && ru_str(e, "resource_name") == NULL &&
		      !json_object_object_get_ex(e, "permissions", NULL), "_fields=uri: %s",
		      body_snip(&r));
		http_resp_free(&r);
	}
}

/* Pages of 2 in uri order, by Next-Page, with the whole count on HEAD. */
static void test_pages(void)
{
	char b[128], next[4096], all[8192] = "", *p;
	struct http_resp r;
	int pages = 0;

	snprintf(b, sizeof b, "bucket_id=%s", bkt);
	snprintf(next, sizeof next, "/v1/permissions?%s&_limit=2", b);
	while (pages < 10) {
		const char *np;

		as(&r, ALICE, "GET", next, NULL);
		CHECK(r.status == 200 && ru_len(resp_json(&r, "data")) <= 2, "page %d: %s", pages,
		      body_snip(&r));
		snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", *all ? "," : "",
			 uris(&r));
		np = resp_header(&r, "Next-Page");
		pages++;
		if (np == NULL || (p = strstr(np, "/v1/permissions")) == NULL) {
			http_resp_free(&r);
			break;
		}
		snprintf(next, sizeof next, "%s", p);
		http_resp_free(&r);
	}
	LISTS(ALICE, b, all);
	CHECK(pages == 4, "%d pages of 2 for 7 entries", pages);
	/* The root has no id: sorted on id, it comes last, and a page resumes after it. */
	{
		char q[256];

		snprintf(q, sizeof q, "in_uri=/,%s&_sort=id&_limit=1", u(""));
		as(&r, ALICE, "GET", ru_fmt("/v1/permissions?%s", q), NULL);
		CHECK(strcmp(uris(&r), u("")) == 0 && resp_header(&r, "Next-Page") != NULL,
		      "first page on id: %s", body_snip(&r));
		p = resp_header(&r, "Next-Page") ? strstr(resp_header(&r, "Next-Page"), "/v1/") : NULL;
		snprintf(next, sizeof next, "%s", p ? p : "/v1/permissions?_token=none");
		http_resp_free(&r);
		as(&r, ALICE, "GET", next, NULL);
		CHECK(strcmp(uris(&r), "/") == 0 && resp_header(&r, "Next-Page") == NULL,
		      "second page on id: %s", body_snip(&r));
		http_resp_free(&r);
	}
	CHECK(total(ALICE, b) == 7, "Total-Records %ld, expected 7", total(ALICE, b));
}

/* The first page's Next-Page token of who's query, into out ("" when none). */
static void token_of(enum who who, const char *query, char *out, size_t size)
{
	struct http_resp r;
	const char *np, *t;

	as(&r, who, "GET", ru_fmt("/v1/permissions?%s", query), NULL);
	np = resp_header(&r, "Next-Page");
	t = np != NULL ? strstr(np, "_token=") : NULL;
	snprintf(out, size, "%s", t != NULL ? t + 7 : "");
	http_resp_free(&r);
}

static void bad_at(enum who who, const char *query, const char *file, unsigned line)
{
	struct http_resp r;

	as(&r, who, "GET", ru_fmt("/v1/permissions?%s", query), NULL);
	check_at(r.status == 400 && ru_int(r.json, "errno") == 107 &&
		 ru_detail_location(&r) != NULL && strcmp(ru_detail_location(&r), "querystring") == 0,
		 file, line, "?%s as %s: HTTP %ld, expected 400 errno 107: %s", query, names[who],
		 r.status, body_snip(&r));
	http_resp_free(&r);
}
#define BAD(w, q) bad_at((w), (q), __FILE__, __LINE__)

/* Spellings that try to reach other principals' rows, and broken queries: 400s or nothing. */
static void test_hostile(void)
{
	char tok[2048];

	BAD(BOB, ru_fmt("principal=%s", uid[ALICE]));
	BAD(BOB, ru_fmt("in_principal=%s", uid[ALICE]));
	BAD(BOB, "object_id=x");
	BAD(BOB, "_sort=principal");
	BAD(BOB, "_sort=data");
	BAD(BOB, "_limit=abc");
	BAD(BOB, "_fields=a..b");
	BAD(BOB, "uri.=x");
	/* A token of alice's is no token of bob's, nor of another query of hers. */
	token_of(ALICE, ru_fmt("bucket_id=%s&_limit=1", bkt), tok, sizeof tok);
	CHECK(*tok != '\0', "alice got no token");
	BAD(BOB, ru_fmt("bucket_id=%s&_limit=1&_token=%s", bkt, tok));
	BAD(ANON, ru_fmt("bucket_id=%s&_limit=1&_token=%s", bkt, tok));
	BAD(ALICE, ru_fmt("bucket_id=%s&resource_name=group&_limit=1&_token=%s", bkt, tok));
	BAD(ALICE, "_token=e30.AAAA");
	OK(ALICE, "GET", ru_fmt("/v1/permissions?bucket_id=%s&_limit=1&_token=%s", bkt, tok), NULL,
	   200);
	/* _fields cannot bring back what the entry does not hold (bob may write "auth"). */
	{
		struct http_resp r;
		json_object *data;

		as(&r, BOB, "GET", ru_fmt("/v1/permissions?bucket_id=%s&_fields=principal,uri", bkt),
		   NULL);
		data = resp_json(&r, "data");
		CHECK(r.status == 200 && ru_len(data) == 1 &&
		      ru_keys(json_object_array_get_idx(data, 0)) == 2 &&
		      ru_str(json_object_array_get_idx(data, 0), "id") != NULL,
		      "_fields=principal,uri as bob: %s", body_snip(&r));
		http_resp_free(&r);
	}
	/* A huge _limit is capped like any list's. */
	OK(BOB, "GET", "/v1/permissions?_limit=999999999999", NULL, 200);
	OK(BOB, "GET", "/v1/permissions?uri=%00", NULL, 400);
}

/* Settings: bucket:create on the root, carol's group:create on every bucket. */
static void test_settings(void)
{
	PERMS(CAROL, u(""), "[\"group:create\",\"read:attributes\"]");
	PERMS(BOB, u(""), "(no entry)");
	ROOT(CAROL, "[\"account:create\",\"bucket:create\"]");
	/* A deleted bucket takes its settings' entry with it. */
	OK(ALICE, "PUT", v("-gone"), "{\"data\":{}}", 201);
	LISTS(CAROL, ru_fmt("uri=/buckets/%s-gone", bkt), ru_fmt("/buckets/%s-gone", bkt));
	OK(ALICE, "DELETE", v("-gone"), NULL, 200);
	LISTS(CAROL, ru_fmt("uri=/buckets/%s-gone", bkt), "");
}

/* An account holds write on itself: listed as Kinto's accounts plugin lists it. */
static void test_account(void)
{
	char name[RU_ID_LEN], hdr[512];
	const char *h[2] = { hdr, NULL };
	struct http_resp r;
	json_object *e;

	unique_id(name, sizeof name, "peacct");
	OK(ANON, "PUT", ru_fmt("/v1/accounts/%s", name), "{\"data\":{\"password\":\"pe-Acct-1\"}}", 201);
	basic_auth(hdr, sizeof hdr, name, "pe-Acct-1");
	http_request("GET", "/v1/permissions?resource_name=account", h, NULL, &r);
	e = ru_len(resp_json(&r, "data")) == 1 ? json_object_array_get_idx(resp_json(&r, "data"), 0) : NULL;
	CHECK(e != NULL && strcmp(ru_str(e, "uri") ? ru_str(e, "uri") : "", ru_fmt("/accounts/%s", name)) == 0 &&
	      strcmp(ru_str(e, "account_id") ? ru_str(e, "account_id") : "", name) == 0 &&
	      strcmp(json_object_to_json_string_ext(json_object_object_get(e, "permissions"),
						    JSON_C_TO_STRING_PLAIN), "[\"read\",\"write\"]") == 0,
	      "account entry: %s", body_snip(&r));
	http_resp_free(&r);
	LISTS(BOB, "resource_name=account", "");
}

void test_permissions_endpoint_register(void)
{
	CU_pSuite s = CU_add_suite("permissions_endpoint", suite_init, suite_clean);

	CU_add_test(s, "off by default: 404, no capability", test_off);
	CU_add_test(s, "on: the capability, GET and HEAD", test_on);
	CU_add_test(s, "entries: ids, Kinto's tree within one object", test_entries);
	CU_add_test(s, "another user sees none of them, counts included", test_others_see_nothing);
	CU_add_test(s, "a group's grant: its members only", test_groups);
	CU_add_test(s, "system.Everyone and system.Authenticated", test_special_principals);
	CU_add_test(s, "deleted objects and ACEs on nothing are not listed", test_deleted);
	CU_add_test(s, "filters, _sort, _fields; last_modified dropped", test_filters);
	CU_add_test(s, "pages by Next-Page, Total-Records on HEAD", test_pages);
	CU_add_test(s, "hostile: principals, foreign tokens, bad filters", test_hostile);
	CU_add_test(s, "settings: the root's bucket:create, group:create on buckets",
		    test_settings);
	CU_add_test(s, "accounts: their own entry", test_account);
}
