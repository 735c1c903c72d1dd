/*
 * Hostile requests (issue 11): pagination tokens. A token is good for its
 * own list, query and user (anonymous included); a foreign, altered or
 * re-used token is 400 errno 107 naming _token; and a token never stands in
 * for an authorization check: without read access, the 401/403 is the one
 * the request gets without it.
 */
#include <stdio.h>
#include <string.h>

#include "security_stamps.h"

/* --- pagination tokens ------------------------------------------------------------- */

struct pages {
	char b[RU_ID_LEN];
	char list[RU_PATH_LEN];  /* records of c: Alice's, Bob may read */
	char other[RU_PATH_LEN]; /* records of d: Alice's */
	char pub[RU_PATH_LEN];   /* records of p: everyone may read */
};

/* The _token of the Next-Page of GET path?query as who ("" when none). */
static const char *token_of(enum who who, const char *method, const char *path)
{
	static char out[4][4096];
	static int ring;
	struct http_resp r;
	const char *next, *t;
	char *o = out[ring++ % 4];

	stamps_as(&r, who, method, path, NULL, NULL);
	next = resp_header(&r, "Next-Page");
	t = next ? strstr(next, "_token=") : NULL;
	snprintf(o, 4096, "%s", t ? t + 7 : "");
	o[strcspn(o, "&")] = '\0';
	CHECK(o[0] != '\0', "%s %s as %s: HTTP %ld, no Next-Page token", method, path, stamps_names[who],
	      r.status);
	http_resp_free(&r);
	return o;
}

static void make_pages(struct pages *p)
{
	static const char *const cols[] = { "c", "d", "p" };
	char perms[256];

	ru_login(stamps_names[ALICE], "stamps-password");
	ru_fresh_collection(p->b);
	snprintf(perms, sizeof perms, "{\"permissions\": {\"read\": [\"%s\"]}}", stamps_uid[BOB]);
	CHECK(stamps_write("PUT", ru_collection(p->b, "c"), perms, NULL, 0, NULL) == 200, "c");
	CHECK(stamps_write("PUT", ru_collection(p->b, "d"), "{}", NULL, 0, NULL) == 201, "d");
	CHECK(stamps_write("PUT", ru_collection(p->b, "p"),
			     "{\"permissions\": {\"read\": [\"system.Everyone\"]}}", NULL, 0,
			     NULL) == 201, "p");
	snprintf(p->list, sizeof p->list, "%s", ru_records(p->b, "c"));
	snprintf(p->other, sizeof p->other, "%s", ru_records(p->b, "d"));
	snprintf(p->pub, sizeof p->pub, "%s", ru_records(p->b, "p"));
	for (int c = 0; c < 3; c++)
		for (int i = 0; i < 3; i++)
			CHECK(stamps_write("POST", ru_records(p->b, cols[c]),
					     ru_fmt("{\"data\": {\"n\": %d}}", i), NULL, 0,
					     NULL) == 201, "POST record");
}

static void expect_at(enum who who, const char *method, const char *path, long status,
		      int err_no, const char *name, const char *file, unsigned line)
{
	struct http_resp r;
	const char *got;

	stamps_as(&r, who, method, path, NULL, NULL);
	got = stamps_detail_name(r.json);
	check_at(r.status == status && (err_no == 0 || ru_int(r.json, "errno") == err_no) &&
		 (name == NULL || (got != NULL && strcmp(got, name) == 0)), file, line,
		 "%s %s as %s: HTTP %ld errno %lld (%s), expected %ld errno %d: %s", method, path,
		 stamps_names[who], r.status, ru_int(r.json, "errno"), got ? got : "-", status, err_no,
		 body_snip(&r));
	http_resp_free(&r);
}

#define EXPECT(w, m, p, s, e, n) expect_at((w), (m), (p), (s), (e), (n), __FILE__, __LINE__)
#define BAD_TOKEN(w, m, p) EXPECT((w), (m), (p), 400, 107, "_token")

/* A token is good for its list, its query and its user; anything else is 400 _token. */
static void test_token_bound(void)
{
	struct pages p;
	const char *mine, *bobs, *anons, *pub_alice;
	char altered[4096];
	size_t dot;

	make_pages(&p);
	mine = token_of(ALICE, "GET", ru_fmt("%s?_limit=1", p.list));
	/* Its own list, query and user: the next page. */
	EXPECT(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", p.list, mine), 200, 0, NULL);
	/* Another list, same query. */
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", p.other, mine));
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", p.pub, mine));
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", ru_fmt("/v1/buckets/%s/collections",
									  p.b), mine));
	BAD_TOKEN(ALICE, "DELETE", ru_fmt("%s?_limit=1&_token=%s", p.other, mine));
	/* Another user who may read the list. */
	BAD_TOKEN(BOB, "GET", ru_fmt("%s?_limit=1&_token=%s", p.list, mine));
	bobs = token_of(BOB, "GET", ru_fmt("%s?_limit=1", p.list));
	EXPECT(BOB, "GET", ru_fmt("%s?_limit=1&_token=%s", p.list, bobs), 200, 0, NULL);
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", p.list, bobs));
	/* Anonymous, on a list everyone may read. */
	pub_alice = token_of(ALICE, "GET", ru_fmt("%s?_limit=1", p.pub));
	BAD_TOKEN(ANON, "GET", ru_fmt("%s?_limit=1&_token=%s", p.pub, pub_alice));
	anons = token_of(ANON, "GET", ru_fmt("%s?_limit=1", p.pub));
	EXPECT(ANON, "GET", ru_fmt("%s?_limit=1&_token=%s", p.pub, anons), 200, 0, NULL);
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", p.pub, anons));
	BAD_TOKEN(BOB, "GET", ru_fmt("%s?_limit=1&_token=%s", p.pub, anons));
	/* Re-used with another filter, sort or _since. */
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&n=1&_token=%s", p.list, mine));
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_sort=n&_token=%s", p.list, mine));
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_since=1&_token=%s", p.list, mine));
	/* Altered by one character, in the payload and in the signature. */
	dot = strcspn(mine, ".");
	snprintf(altered, sizeof altered, "%s", mine);
	altered[2] = altered[2] == 'A' ? 'B' : 'A';
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", p.list, altered));
	snprintf(altered, sizeof altered, "%s", mine);
	altered[dot + 3] = altered[dot + 3] == 'A' ? 'B' : 'A';
	BAD_TOKEN(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", p.list, altered));
	/* DELETE with a token from a GET of another list, and its own. */
	BAD_TOKEN(ALICE, "DELETE", ru_fmt("%s?_limit=1&_token=%s", p.list, pub_alice));
	EXPECT(ALICE, "DELETE", ru_fmt("%s?_limit=1&_token=%s", p.list, mine), 200, 0, NULL);
}

/* A token never stands in for read (or write) access: the refusal is the one without it. */
static void test_token_no_authorization(void)
{
	struct pages p;
	const char *mine, *lists[2];
	char altered[4096];

	make_pages(&p);
	mine = token_of(ALICE, "GET", ru_fmt("%s?_limit=1", p.list));
	snprintf(altered, sizeof altered, "%s", mine);
	altered[2] = altered[2] == 'A' ? 'B' : 'A';
	lists[0] = p.list;
	lists[1] = p.other;
	for (int i = 0; i < 2; i++) {
		const char *tokens[] = { mine, altered, "garbage", "" };

		for (size_t t = 0; t < sizeof tokens / sizeof *tokens; t++) {
			const char *q = ru_fmt("%s?_limit=1&_token=%s", lists[i], tokens[t]);

			EXPECT(CAROL, "GET", q, 403, 121, NULL);
			EXPECT(CAROL, "HEAD", q, 403, 0, NULL);
			EXPECT(CAROL, "DELETE", q, 403, 121, NULL);
			EXPECT(ANON, "GET", q, 401, 104, NULL);
			EXPECT(ANON, "DELETE", q, 401, 104, NULL);
			/* Bob reads c but may not delete from it. */
			if (i == 0)
				EXPECT(BOB, "DELETE", q, 403, 121, NULL);
			else
				EXPECT(BOB, "GET", q, 403, 121, NULL);
		}
	}
	/* Anonymous on the root bucket list, with a token of Alice's. */
	EXPECT(ANON, "GET", ru_fmt("/v1/buckets?_limit=1&_token=%s", mine), 401, 104, NULL);
	/* Alice's own list still pages for her. */
	EXPECT(ALICE, "GET", ru_fmt("%s?_limit=1&_token=%s", p.list, mine), 200, 0, NULL);
}

void test_security_stamps_tokens_add(CU_pSuite s)
{
	CU_add_test(s, "tokens bound to list, query, user", test_token_bound);
	CU_add_test(s, "a token is no authorization", test_token_no_authorization);
}
