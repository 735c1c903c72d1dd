/*
 * History entries through both of the store's statements (app/store/history.c):
 * a transaction of one entry takes its own statement, any other the general
 * one. Both must write the same entry: the same fields, the object's ACL as
 * the transaction commits it in target.permissions, the same readers, and
 * last_modified in commit order. Part of the suite "history" (test_history.c).
 */
#include <stdio.h>
#include <string.h>

#include "history_util.h"
#include "resource_util.h"

/* The entry of b's history whose record_id is rec (as alice, who reads the bucket), or NULL. */
static json_object *entry_of(struct http_resp *r, const char *b, const char *rec)
{
	json_object *d = hist(r, ALICE, b, ru_fmt("record_id=%s", rec));

	CHECK(r->status == 200 && ru_len(d) == 1, "one entry of %s in %s: %s", rec, b, body_snip(r));
	return ru_len(d) == 1 ? json_object_array_get_idx(d, 0) : NULL;
}

/* The JSON text of the member at a dotted path (objects and arrays too), or "". */
static const char *text_at(json_object *o, const char *dotted)
{
	char key[128], *dot;
	json_object *v = o;

	snprintf(key, sizeof key, "%s", dotted);
	for (char *k = key; v != NULL && k != NULL; k = dot) {
		if ((dot = strchr(k, '.')) != NULL)
			*dot++ = '\0';
		if (!json_object_object_get_ex(v, k, &v))
			v = NULL;
	}
	return v ? ru_fmt("%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)) : "";
}

/* Entries a (in bucket ba) and b (in bb) are the same entry of the same change. */
static void same_entry(json_object *a, const char *ba, json_object *b, const char *bb)
{
	static const char *const keys[] = {
		"action", "resource_name", "record_id", "collection_id", "user_id",
		"target.data.id", "target.data.title", "target.permissions",
	};
	const char *ua = member(a, "uri"), *ub = member(b, "uri");

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		CHECK(*text_at(a, keys[i]) && strcmp(text_at(a, keys[i]), text_at(b, keys[i])) == 0,
		      "%s: %s, through the other statement %s", keys[i], text_at(a, keys[i]),
		      text_at(b, keys[i]));
	CHECK(json_object_object_length(a) == json_object_object_length(b) &&
	      json_object_object_length(json_object_object_get(a, "target")) ==
	      json_object_object_length(json_object_object_get(b, "target")),
	      "not the same members: %s / %s", json_object_to_json_string(a),
	      json_object_to_json_string(b));
	CHECK(ua && ub && strcmp(ua + strlen(ba) + 9, ub + strlen(bb) + 9) == 0,
	      "uri %s / %s", ua ?: "-", ub ?: "-");
}

/*
 * The same PUT as a request of its own (one entry: the one-entry statement)
 * and in a batch over two buckets (the general statement): the same entry,
 * seen by the same readers; entries in commit order.
 */
static void test_one_and_general(void)
{
	char b1[RU_ID_LEN], b2[RU_ID_LEN];
	const char *body = ru_fmt("{\"data\":{\"title\":\"t\"},\"permissions\":{\"read\":[\"%s\"]}}",
				  uid[CAROL]);
	char put[512];
	struct http_resp r1, r2, r;

	SET(put, body);
	fresh(b1, "hone");
	fresh(b2, "hgen");
	for (int i = 0; i < 2; i++)
		ok_as(ALICE, "PATCH", ru_fmt("/v1/buckets/%s/collections/c", i ? b2 : b1),
		      ru_fmt("{\"permissions\":{\"read\":[\"%s\"]}}", uid[BOB]), 200);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c/records/r", b1), put, 201);
	as(&r, ALICE, "POST", "/v1/batch", ru_fmt(
		   "{\"requests\":[{\"method\":\"PUT\",\"path\":\"/buckets/%s/collections/c/records/r\","
		   "\"body\":%s},{\"method\":\"PUT\",\"path\":\"/buckets/%s/collections/c/records/s\","
		   "\"body\":{\"data\":{\"title\":\"s\"}}}]}", b2, put, b1));
	assert_status(&r, 200);
	http_resp_free(&r);
	same_entry(entry_of(&r1, b1, "r"), b1, entry_of(&r2, b2, "r"), b2);
	http_resp_free(&r1);
	http_resp_free(&r2);
	/* Readers: the collection's (bob), the record's (carol); nobody else. */
	CHECK(count_as(CAROL, b1, "") == 1 && count_as(CAROL, b2, "") == 1,
	      "carol sees %ld and %ld entries", count_as(CAROL, b1, ""), count_as(CAROL, b2, ""));
	CHECK(count_as(BOB, b1, "") == 3 && count_as(BOB, b2, "") == 2,
	      "bob sees %ld and %ld entries", count_as(BOB, b1, ""), count_as(BOB, b2, ""));
	CHECK(count_as(DAVE, b1, "") == -1 && count_as(DAVE, b2, "") == -1, "a stranger sees entries");
	/* The batch committed after the PUT: its entry in b1 comes after. */
	{
		long long lr = ru_int(entry_of(&r1, b1, "r"), "last_modified");
		long long ls = ru_int(entry_of(&r2, b1, "s"), "last_modified");

		CHECK(lr > 0 && ls > lr, "the batch's entry %lld, the PUT's %lld", ls, lr);
		http_resp_free(&r1);
		http_resp_free(&r2);
	}
}

/*
 * The one-entry statement reads the ACL the transaction commits, as the
 * general one: a record's readers replaced by a PUT leave the old reader
 * the old entry only; a reader added by the change sees its entry; a
 * bucket's entry lists each of its principals once.
 */
static void test_one_entry_acl(void)
{
	char b[RU_ID_LEN];
	const char *p;
	struct http_resp r;
	json_object *d;

	fresh(b, "hacl");
	p = ru_fmt("/v1/buckets/%s/collections/c/records/r", b);
	ok_as(ALICE, "PUT", p, ru_fmt("{\"data\":{},\"permissions\":{\"read\":[\"%s\"]}}", uid[CAROL]),
	      201);
	p = ru_fmt("/v1/buckets/%s/collections/c/records/r", b);
	ok_as(ALICE, "PUT", p, ru_fmt("{\"data\":{\"v\":2},\"permissions\":{\"read\":[\"%s\"]}}",
				      uid[DAVE]), 200);
	d = hist(&r, CAROL, b, "");
	CHECK(r.status == 200 && ru_len(d) == 1 &&
	      strcmp(member(json_object_array_get_idx(d, 0), "action") ?: "", "create") == 0,
	      "the revoked reader sees: %s", body_snip(&r));
	http_resp_free(&r);
	d = hist(&r, DAVE, b, "");
	CHECK(r.status == 200 && ru_len(d) == 1 &&
	      strcmp(member(json_object_array_get_idx(d, 0), "action") ?: "", "update") == 0 &&
	      strcmp(text_at(json_object_array_get_idx(d, 0), "target.permissions.read"),
		     ru_fmt("[\"%s\"]", uid[DAVE])) == 0,
	      "the new reader sees: %s", body_snip(&r));
	http_resp_free(&r);
	/* The bucket's own entry: its ACL read once (bucket, collection and object are one). */
	ok_as(ALICE, "PATCH", ru_fmt("/v1/buckets/%s", b),
	      ru_fmt("{\"permissions\":{\"read\":[\"%s\"]}}", uid[ZED]), 200);
	d = hist(&r, ALICE, b, "resource_name=bucket&action=update");
	CHECK(r.status == 200 && ru_len(d) == 1 &&
	      strcmp(text_at(json_object_array_get_idx(d, 0), "target.permissions.write"),
		     ru_fmt("[\"%s\"]", uid[ALICE])) == 0 &&
	      strcmp(text_at(json_object_array_get_idx(d, 0), "target.permissions.read"),
		     ru_fmt("[\"%s\"]", uid[ZED])) == 0,
	      "the bucket's entry: %s", body_snip(&r));
	http_resp_free(&r);
	CHECK(count_as(ZED, b, "") == count_as(ALICE, b, ""), "the bucket's reader sees all");
	CHECK(count_as(CAROL, b, "") == 1, "carol sees %ld entries", count_as(CAROL, b, ""));
}

void test_history_paths_add(CU_pSuite s)
{
	CU_add_test(s, "one entry and a batch over two buckets: the same entry, the same readers",
		    test_one_and_general);
	CU_add_test(s, "one entry: the ACL its transaction commits, old readers replaced",
		    test_one_entry_acl);
}
