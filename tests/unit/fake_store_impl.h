/*
 * What fake_store.c and fake_acl.c share: the fake's state and helpers.
 * Tests include fake_store.h only.
 */
#ifndef PAWL_TEST_FAKE_STORE_IMPL_H
#define PAWL_TEST_FAKE_STORE_IMPL_H

#include "fake_store.h"

struct list_ts {
	char *parent_id, *resource_name;
	long long ts;
};

struct ace {
	char *object_id, *permission, *principal;
};

struct member {
	char *user_id, *group;
};

struct fake_store {
	struct pawl_store handle;
	long long now;   /* 0: the real clock */
	unsigned unimplemented;
	struct fake_object *objects;
	size_t n_objects;
	struct list_ts *lists;
	size_t n_lists;
	struct ace *aces;
	size_t n_aces;
	struct member *members;
	size_t n_members;
};

/* Grows *items by one zeroed element of size; NULL on OOM (the test then fails). */

/* Grows *items by one zeroed element of size (aborts on OOM). */
void *fake_push(void *items, size_t *n, size_t size);
/* strdup, aborting on OOM; NULL is "". */
char *fake_dup(const char *s);
/* PAWL_ERR_INTERNAL "fake store: not implemented: what", counted. */
enum pawl_err fake_unimplemented(struct fake_store *f, const char *what, struct pawl_error *err);
/* True when s is uri itself (when self) or lies below it ("uri/..."). */
bool fake_under(const char *s, const char *uri, bool self);
/* An ACE (object_id, permission) held by principals or their groups. */
bool fake_granted(const struct fake_store *f, const char *const *principals,
    const char *object_id, const char *permission);
void fake_acl_free(struct fake_store *f);

/* The operations of store/store.h that fake_acl.c implements (and get, which it reads with). */
enum pawl_err fake_get(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
    struct pawl_object *out, bool *found, struct pawl_error *err);
enum pawl_err fake_acl_check(void *impl, struct pawl_arena *arena,
    const struct pawl_acl_ask *ask, bool *allowed, struct pawl_error *err);
enum pawl_err fake_acl_get(void *impl, struct pawl_arena *arena, const char *object_id,
    const char **json, struct pawl_error *err);
enum pawl_err fake_acl_get_for_writer(void *impl, struct pawl_arena *arena,
    const char *object_id, const char *const *principals, const char **json,
    struct pawl_error *err);
enum pawl_err fake_acl_read_object(void *impl, struct pawl_arena *arena,
    struct pawl_acl_read *r, struct pawl_error *err);
enum pawl_err fake_acl_replace(void *impl, struct pawl_arena *arena,
    const struct pawl_acl_change *ch, struct pawl_error *err);
enum pawl_err fake_acl_delete_tree(void *impl, struct pawl_arena *arena, const char *object_id,
    struct pawl_error *err);
enum pawl_err fake_set_members(void *impl, struct pawl_arena *arena, const char *group_uri,
    const char *const *members, size_t n, struct pawl_error *err);
enum pawl_err fake_delete_members(void *impl, struct pawl_arena *arena, const char *uri,
    struct pawl_error *err);
enum pawl_err fake_groups(void *impl, struct pawl_arena *arena, const char *const *principals,
    const char ***groups, struct pawl_error *err);

#endif
