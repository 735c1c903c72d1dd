/*
 * An in-memory store (store/store.h) for handler unit tests: objects and
 * tombstones per list, list timestamps bumped as PostgreSQL bumps them, ACEs
 * and group memberships checked as store/acl.c checks them. What it does not
 * model fails with PAWL_ERR_INTERNAL "fake store: not implemented: ...",
 * never with a wrong answer (see fake_store.c for the list).
 */
#ifndef PAWL_TEST_FAKE_STORE_H
#define PAWL_TEST_FAKE_STORE_H

#include <stdbool.h>

#include "store/store.h"

struct fake_store;

/* An empty store, on the real clock. NULL on OOM. */
struct fake_store *fake_store_new(void);
void fake_store_free(struct fake_store *f);

/* The handle the handlers call (owned by f). */
struct pawl_store *fake_store_handle(struct fake_store *f);

/* Fixes "now" (ms) for every later timestamp; 0 goes back to the real clock. */
void fake_store_set_now(struct fake_store *f, long long now_ms);

/* Fixtures: an ACE; a membership of user_id in the group whose URI is group. */
void fake_store_grant(struct fake_store *f, const char *object_id, const char *permission,
    const char *principal);
void fake_store_add_member(struct fake_store *f, const char *user_id, const char *group);

/* What is stored. */
struct fake_object {
	char *parent_id, *resource_name, *id;
	char *data;            /* the served JSON text (id and last_modified in it) */
	long long last_modified;
	bool deleted;
};

/* The row of (parent_id, resource_name, id), tombstones included, or NULL. */
const struct fake_object *fake_store_find(const struct fake_store *f, const char *parent_id,
    const char *resource_name, const char *id);

/* The list's timestamp, or -1 when it has none yet. */
long long fake_store_list_ts(const struct fake_store *f, const char *parent_id,
    const char *resource_name);

/* Whether the ACE exists. */
bool fake_store_has_ace(const struct fake_store *f, const char *object_id, const char *permission,
    const char *principal);

/* How many operations failed as not implemented (a test asserts 0). */
unsigned fake_store_unimplemented(const struct fake_store *f);

#endif
