/*
 * The store interface (store/store.h) over PostgreSQL: objects.c, acl.c,
 * list_query.c and personal.c on the worker's connection, unchanged.
 */
#ifndef PAWL_PG_STORE_H
#define PAWL_PG_STORE_H

#include "store/pg.h"
#include "store/store.h"

/* A store over pg (borrowed: it must outlive the store). NULL on OOM. */
struct pawl_store *pawl_pg_store_new(struct pawl_pg *pg);

/* Frees the handle (not the connection). NULL is accepted. */
void pawl_pg_store_free(struct pawl_store *s);

#endif
