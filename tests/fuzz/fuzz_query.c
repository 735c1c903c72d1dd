/*
 * libFuzzer target: raw bytes as a list query string into pawl_query_parse;
 * whatever parses is then hashed and round-tripped through a pagination
 * token. One arena, reset after every input, so nothing may outlive it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"

#define NOW_MS 1500000000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pawl_arena *arena;

static void check_query(const struct pawl_query *q)
{
	struct pawl_token t;
	struct pawl_error err;
	const char *tok;

	if (q->keep == NULL || q->n_sort < 1 || q->n_sort > PAWL_QUERY_MAX_SORT + 1 ||
	    q->n_filters > PAWL_QUERY_MAX_FILTERS || q->n_fields > PAWL_QUERY_MAX_FIELDS)
		abort();
	if (pawl_token_query_hash(arena, q) == NULL)
		abort();
	tok = pawl_token_encode(arena, "fuzz", "/l\nanonymous", q, NULL, 1);
	if (tok == NULL || pawl_token_decode(arena, &(struct pawl_token_signer){ "fuzz",
	    "/l\nanonymous" }, q, tok, &t, &err) != PAWL_OK ||
	    t.offset != 1)
		abort();
	/* keep is itself a query string that must parse. */
	if (q->keep[0] != '\0') {
		struct pawl_query *again = pawl_arena_alloc(arena, sizeof(*again));

		if (again == NULL ||
		    pawl_query_parse(arena, q->keep, NOW_MS, again, &err) != PAWL_OK)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pawl_query *q;
	struct pawl_error err;
	char *text;

	if (arena == NULL && (arena = pawl_arena_new(16384)) == NULL)
		abort();
	text = pawl_arena_strndup(arena, (const char *)data, size);
	q = pawl_arena_alloc(arena, sizeof(*q));
	if (text != NULL && q != NULL && pawl_query_parse(arena, text, NOW_MS, q, &err) == PAWL_OK)
		check_query(q);
	pawl_arena_reset(arena);
	return 0;
}
