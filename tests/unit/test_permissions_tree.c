/*
 * The permissions endpoint's pure part (app/resource/permissions_tree.c):
 * the permissions shown on an object, checked against Kinto's inheritance
 * tree (kinto/authorization.py and the accounts plugin's rows) inverted and
 * kept to one resource, as Kinto's endpoint does; and the settings' grants.
 */
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "core/config.h"
#include "core/resource_table.h"
#include "resource/permissions.h"
#include "unit.h"

/* Kinto's tree as rows: obtained on `on` from `from_perm` on `from` (same-resource rows matter). */
static const struct row {
	const char *on, *obtained, *from, *from_perm;
} kinto_tree[] = {
	{ "bucket", "write", "bucket", "write" },
	{ "bucket", "read", "bucket", "write" }, { "bucket", "read", "bucket", "read" },
	{ "bucket", "read:attributes", "bucket", "write" },
	{ "bucket", "read:attributes", "bucket", "read" },
	{ "bucket", "read:attributes", "bucket", "collection:create" },
	{ "bucket", "read:attributes", "bucket", "group:create" },
	{ "bucket", "group:create", "bucket", "write" },
	{ "bucket", "group:create", "bucket", "group:create" },
	{ "bucket", "collection:create", "bucket", "write" },
	{ "bucket", "collection:create", "bucket", "collection:create" },
	{ "group", "write", "bucket", "write" }, { "group", "write", "group", "write" },
	{ "group", "read", "bucket", "write" }, { "group", "read", "bucket", "read" },
	{ "group", "read", "group", "write" }, { "group", "read", "group", "read" },
	{ "collection", "write", "bucket", "write" }, { "collection", "write", "collection", "write" },
	{ "collection", "read", "bucket", "write" }, { "collection", "read", "bucket", "read" },
	{ "collection", "read", "collection", "write" }, { "collection", "read", "collection", "read" },
	{ "collection", "read:attributes", "bucket", "write" },
	{ "collection", "read:attributes", "bucket", "read" },
	{ "collection", "read:attributes", "collection", "write" },
	{ "collection", "read:attributes", "collection", "read" },
	{ "collection", "read:attributes", "collection", "record:create" },
	{ "collection", "record:create", "bucket", "write" },
	{ "collection", "record:create", "collection", "write" },
	{ "collection", "record:create", "collection", "record:create" },
	{ "record", "write", "bucket", "write" }, { "record", "write", "collection", "write" },
	{ "record", "write", "record", "write" },
	{ "record", "read", "bucket", "write" }, { "record", "read", "bucket", "read" },
	{ "record", "read", "collection", "write" }, { "record", "read", "collection", "read" },
	{ "record", "read", "record", "write" }, { "record", "read", "record", "read" },
	{ "account", "write", "account", "write" },
	{ "account", "read", "account", "write" }, { "account", "read", "account", "read" },
};

static struct pawl_arena *arena;
static struct pawl_config *cfg;
static struct pawl_resource_table *table;

static int setup(void)
{
	struct pawl_error err;

	arena = pawl_arena_new(8192);
	cfg = pawl_config_parse("[app:main]\nmultiauth.policies = account basicauth\n"
	    "userid_hmac_secret = s\n"
	    "collection_create_principals = alice\nbucket_read_principals = alice carol\n"
	    "record_read_principals = alice\nrecord_create_principals = bob\n"
	    "group_write_principals = system.Authenticated\n", "unit", NULL, &err);
	table = cfg != NULL ? pawl_resource_table_new(cfg, &err) : NULL;
	return arena == NULL || table == NULL;
}

static int teardown(void)
{
	pawl_resource_table_free(table);
	pawl_config_free(cfg);
	pawl_arena_free(arena);
	return 0;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a,b,c": the sorted, distinct items of a NULL-terminated list. */
static const char *set_of(const char **items, size_t n)
{
	struct pawl_buf b;

	qsort(items, n, sizeof(*items), by_text);
	pawl_buf_init(&b, arena);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(items[i], items[i - 1]) != 0)
			pawl_buf_printf(&b, "%s%s", i ? "," : "", items[i]);
	return b.data != NULL ? b.data : "";
}

/* What Kinto's endpoint shows on an object of res for perm: perm and the same-resource rows. */
static const char *kinto_shows(const char *res, const char *perm)
{
	const char *items[32];
	size_t n = 0;

	items[n++] = perm;
	for (size_t i = 0; i < sizeof(kinto_tree) / sizeof(kinto_tree[0]); i++)
		if (strcmp(kinto_tree[i].on, res) == 0 && strcmp(kinto_tree[i].from, res) == 0 &&
		    strcmp(kinto_tree[i].from_perm, perm) == 0)
			items[n++] = kinto_tree[i].obtained;
	return set_of(items, n);
}

static const char *pawl_shows(const char *res, const char *perm)
{
	const struct pawl_resource *r = pawl_resource_table_find(table, res);
	const char *const *got = pawl_permissions_implied(arena, table, r, perm);
	const char *items[32];
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	while (got[n] != NULL && n < 32) {
		items[n] = got[n];
		n++;
	}
	CU_ASSERT_STRING_EQUAL(got[0], perm); /* the permission held comes first */
	return set_of(items, n);
}

static void test_kinto_tree(void)
{
	static const char *const cases[][2] = {
		{ "bucket", "write" }, { "bucket", "read" }, { "bucket", "collection:create" },
		{ "bucket", "group:create" }, { "collection", "write" }, { "collection", "read" },
		{ "collection", "record:create" }, { "group", "write" }, { "group", "read" },
		{ "record", "write" }, { "record", "read" }, { "account", "write" },
		{ "account", "read" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *want = kinto_shows(cases[i][0], cases[i][1]);
		const char *got = pawl_shows(cases[i][0], cases[i][1]);

		if (strcmp(want, got) != 0)
			fprintf(stderr, "\n%s %s: pawl [%s], Kinto [%s]\n", cases[i][0], cases[i][1],
			    got, want);
		CU_ASSERT_STRING_EQUAL(got, want);
	}
	/* Within one object only: a bucket's write shows nothing of its children's reads. */
	CU_ASSERT_STRING_EQUAL(pawl_shows("bucket", "write"),
	    "collection:create,group:create,read,read:attributes,write");
	/* The root has no tree, an unknown permission shows itself alone. */
	CU_ASSERT_STRING_EQUAL(pawl_permissions_implied(arena, table, NULL, "bucket:create")[0],
	    "bucket:create");
	CU_ASSERT_PTR_NULL(pawl_permissions_implied(arena, table, NULL, "bucket:create")[1]);
	CU_ASSERT_STRING_EQUAL(pawl_shows("record", "frobnicate"), "frobnicate");
}

/* The grants of principals, as "<kind or />:<perm>" items, sorted. */
static const char *grants_of(const char *const *principals)
{
	struct pawl_settings_grant *g;
	size_t n = pawl_permissions_from_settings(arena, cfg, table, principals, &g);
	const char *items[32];

	CU_ASSERT_FATAL(n < 32);
	for (size_t i = 0; i < n; i++)
		items[i] = pawl_arena_printf(arena, "%s %s", g[i].on ? g[i].on->name : "/",
		    g[i].permission);
	return set_of(items, n);
}

static void test_settings(void)
{
	const char *alice[] = { "alice", "system.Everyone", "system.Authenticated", NULL };
	const char *bob[] = { "bob", "system.Everyone", "system.Authenticated", NULL };
	const char *anon[] = { "system.Everyone", NULL };

	/* bucket_create and account_create (defaults) on the root; record_read is not listed (Kinto). */
	CU_ASSERT_STRING_EQUAL(grants_of(alice), "/ account:create,/ bucket:create,"
	    "bucket collection:create,bucket read,group write");
	CU_ASSERT_STRING_EQUAL(grants_of(bob), "/ account:create,/ bucket:create,"
	    "collection record:create,group write");
	CU_ASSERT_STRING_EQUAL(grants_of(anon), "/ account:create");
	CU_ASSERT_TRUE(pawl_permissions_listed("a  b\tc", (const char *[]){ "c", NULL }));
	CU_ASSERT_FALSE(pawl_permissions_listed("alice2", (const char *[]){ "alice", NULL }));
	CU_ASSERT_FALSE(pawl_permissions_listed(NULL, (const char *[]){ "alice", NULL }));
}

void test_permissions_tree_register(void)
{
	CU_pSuite s = CU_add_suite("permissions_tree", setup, teardown);

	CU_add_test(s, "Kinto's tree within one object", test_kinto_tree);
	CU_add_test(s, "the settings' grants", test_settings);
}
