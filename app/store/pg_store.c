/*
 * The PostgreSQL store: each operation of store/store.h is the function of
 * objects.c, acl.c, list_query.c or personal.c that it names, called with
 * the worker's connection. No SQL here, and nothing that changes what those
 * functions send: the adapter only reshapes arguments.
 */
#include <stdlib.h>

#include "store/acl.h"
#include "store/list_query.h"
#include "store/objects.h"
#include "store/personal.h"
#include "store/pg_store.h"

static enum pawl_err get(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
    struct pawl_object *out, bool *found, struct pawl_error *err)
{
	return pawl_objects_get(impl, arena, it, out, found, err);
}

static enum pawl_err exists(void *impl, struct pawl_arena *arena, const struct pawl_list_key *key,
    const char *id, bool *yes, struct pawl_error *err)
{
	return pawl_objects_exists(impl, arena, key, id, yes, err);
}

static enum pawl_err exists_defer(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, struct pawl_store_check *chk,
    struct pawl_error *err)
{
	chk->answered = false;
	chk->slot.res = NULL;
	return pawl_objects_exists_defer(impl, arena, key, id, &chk->slot, err);
}

static enum pawl_err exists_answer(void *impl, struct pawl_arena *arena,
    const struct pawl_store_check *chk, bool *yes, struct pawl_error *err)
{
	enum pawl_err rc;

	*yes = false;
	/* Not sent yet when nothing else went to the database since. */
	if (chk->slot.res == NULL && (rc = pawl_pg_flush(impl, arena, err)) != PAWL_OK)
		return rc;
	if (chk->slot.res == NULL)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "parent check lost");
	*yes = pawl_objects_exists_in(&chk->slot);
	return PAWL_OK;
}

static enum pawl_err put(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
    struct pawl_object *out, struct pawl_error *err)
{
	return pawl_objects_put(impl, arena, it, out, err);
}

static enum pawl_err bury(void *impl, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, struct pawl_error *err)
{
	return pawl_objects_delete(impl, arena, it, out, err);
}

static enum pawl_err delete_children(void *impl, struct pawl_arena *arena, const char *uri,
    struct pawl_cascade *out, struct pawl_error *err)
{
	return pawl_objects_delete_children(impl, arena, uri, out, err);
}

static enum pawl_err bump(void *impl, struct pawl_arena *arena, const struct pawl_list_key *key,
    long long at_least, long long *ts, struct pawl_error *err)
{
	return pawl_objects_bump(impl, arena, key, at_least, ts, err);
}

static enum pawl_err list_timestamp(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *key, bool readonly, long long *ts, struct pawl_error *err)
{
	return pawl_objects_list_timestamp(impl, arena, key, readonly, ts, err);
}

static enum pawl_err lock_list(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *key, struct pawl_error *err)
{
	return pawl_objects_lock_list(impl, arena, key, err);
}

static enum pawl_err lock_lists(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *keys, size_t n, struct pawl_error *err)
{
	return pawl_objects_lock_lists(impl, arena, keys, n, err);
}

static enum pawl_err lock_object(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, struct pawl_error *err)
{
	return pawl_objects_lock_object(impl, arena, key, id, err);
}

static enum pawl_err fetch(void *impl, struct pawl_arena *arena,
    const struct pawl_list_request *lr, struct pawl_list_page *page, struct pawl_error *err)
{
	return pawl_list_query_fetch(impl, arena, lr, page, err);
}

static enum pawl_err count(void *impl, struct pawl_arena *arena,
    const struct pawl_list_request *lr, long long *n, struct pawl_error *err)
{
	return pawl_list_query_count(impl, arena, lr, n, err);
}

static enum pawl_err acl_check(void *impl, struct pawl_arena *arena,
    const struct pawl_acl_ask *ask, bool *allowed, struct pawl_error *err)
{
	return pawl_acl_check(impl, arena, ask, allowed, err);
}

static enum pawl_err acl_get(void *impl, struct pawl_arena *arena, const char *object_id,
    const char **json, struct pawl_error *err)
{
	return pawl_acl_get(impl, arena, object_id, json, err);
}

static enum pawl_err acl_get_for_writer(void *impl, struct pawl_arena *arena,
    const char *object_id, const char *const *principals, const char **json,
    struct pawl_error *err)
{
	return pawl_acl_get_for_writer(impl, arena, object_id, principals, json, err);
}

static enum pawl_err acl_read_object(void *impl, struct pawl_arena *arena,
    struct pawl_acl_read *r, struct pawl_error *err)
{
	return pawl_acl_read_object(impl, arena, r, err);
}

static enum pawl_err acl_replace(void *impl, struct pawl_arena *arena,
    const struct pawl_acl_change *ch, struct pawl_error *err)
{
	return pawl_acl_replace(impl, arena, ch, err);
}

static enum pawl_err acl_delete_tree(void *impl, struct pawl_arena *arena, const char *object_id,
    struct pawl_error *err)
{
	return pawl_acl_delete_tree(impl, arena, object_id, err);
}

static enum pawl_err set_members(void *impl, struct pawl_arena *arena, const char *group_uri,
    const char *const *members, size_t n, struct pawl_error *err)
{
	return pawl_acl_set_members(impl, arena, group_uri, members, n, err);
}

static enum pawl_err delete_members(void *impl, struct pawl_arena *arena, const char *uri,
    struct pawl_error *err)
{
	return pawl_acl_delete_members(impl, arena, uri, err);
}

static enum pawl_err groups(void *impl, struct pawl_arena *arena, const char *const *principals,
    const char ***out, struct pawl_error *err)
{
	return pawl_acl_groups(impl, arena, principals, out, err);
}

static enum pawl_err personal_mark(void *impl, struct pawl_arena *arena,
    const struct pawl_personal_ref *p, struct pawl_error *err)
{
	return pawl_personal_mark(impl, arena, p->bucket_id, p->user_id, err);
}

static enum pawl_err personal_check(void *impl, struct pawl_arena *arena,
    const struct pawl_personal_ref *p, bool *mine, struct pawl_error *err)
{
	return pawl_personal_check(impl, arena, p, mine, err);
}

static const struct pawl_store_ops pg_ops = {
	.get = get,
	.exists = exists,
	.exists_defer = exists_defer,
	.exists_answer = exists_answer,
	.put = put,
	.remove = bury,
	.delete_children = delete_children,
	.bump = bump,
	.list_timestamp = list_timestamp,
	.lock_list = lock_list,
	.lock_lists = lock_lists,
	.lock_object = lock_object,
	.fetch = fetch,
	.count = count,
	.acl_check = acl_check,
	.acl_get = acl_get,
	.acl_get_for_writer = acl_get_for_writer,
	.acl_read_object = acl_read_object,
	.acl_replace = acl_replace,
	.acl_delete_tree = acl_delete_tree,
	.set_members = set_members,
	.delete_members = delete_members,
	.groups = groups,
	.personal_mark = personal_mark,
	.personal_check = personal_check,
};

struct pawl_store *pawl_pg_store_new(struct pawl_pg *pg)
{
	struct pawl_store *s = malloc(sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ops = &pg_ops;
	s->impl = pg;
	return s;
}

void pawl_pg_store_free(struct pawl_store *s)
{
	free(s);
}
