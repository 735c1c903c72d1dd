/*
 * What pawl makes of what PostgreSQL says, as pure functions: a SQLSTATE to
 * a Kinto error and the plain words a client sees, which failures leave the
 * session no use, which sessions a host asks libpq for, and whether two
 * connections reached the same server. No libpq here: unit-tested alone.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "store/pg.h"

/*
 * Every SQLSTATE to a Kinto error (PostgreSQL's Appendix A, "PostgreSQL Error
 * Codes"), with the plain message a client sees: no SQLSTATE or server text
 * ever reaches one. Full codes before their class; the first match wins.
 */
static const struct {
	const char *prefix; /* a full SQLSTATE or a two-character class */
	enum pawl_err code;
	const char *message;
} sqlstate_map[] = {
	{ "57014", PAWL_ERR_TIMEOUT, "The database took too long, please retry later." },
	{ "40001", PAWL_ERR_CONFLICT, "Conflict with a concurrent request, please retry." },
	{ "40P01", PAWL_ERR_CONFLICT, "Conflict with a concurrent request, please retry." },
	{ "55P03", PAWL_ERR_CONFLICT, "Conflict with a concurrent request, please retry." },
	/*
	 * A read-only transaction: the session reached a hot standby, or a primary
	 * turned read-only (a failover in progress). Not the client's fault and
	 * not for good: a 503, and the session is dropped (pawl_pg_sqlstate_lost)
	 * so the next one looks for the primary again.
	 */
	{ "25006", PAWL_ERR_BACKEND, "The database is read-only for now, please retry later." },
	{ "08", PAWL_ERR_BACKEND, "database connection lost" },   /* connection exceptions */
	{ "57", PAWL_ERR_BACKEND, "database connection lost" },   /* shutdown, crash */
	{ "53", PAWL_ERR_BACKEND, "database out of resources" },  /* disk full, memory */
	{ "23", PAWL_ERR_CONFLICT, "Integrity constraint violated, please retry." },
	{ "22", PAWL_ERR_INVALID, "A value of the request is out of range or cannot be stored." },
};

enum pawl_err pawl_pg_map_sqlstate(const char *state)
{
	return pawl_pg_sqlstate_error(state, NULL);
}

enum pawl_err pawl_pg_sqlstate_error(const char *state, const char **message)
{
	size_t i;

	if (message != NULL)
		*message = "A programmatic error occurred, developers have been informed.";
	if (state == NULL || strlen(state) != 5) {
		if (message != NULL)
			*message = "database connection lost";
		return PAWL_ERR_BACKEND;
	}
	for (i = 0; i < sizeof(sqlstate_map) / sizeof(sqlstate_map[0]); i++) {
		if (strncmp(state, sqlstate_map[i].prefix, strlen(sqlstate_map[i].prefix)) != 0)
			continue;
		if (message != NULL && sqlstate_map[i].message != NULL)
			*message = sqlstate_map[i].message;
		return sqlstate_map[i].code;
	}
	/* Our SQL is wrong (42), a bug or an unknown failure: a 500 with an error id. */
	return PAWL_ERR_INTERNAL;
}

/*
 * Whether the session is no use any more: gone (PostgreSQL's classes 08 and
 * 57 but 57014), or read-only (25006) when it was opened to write.
 */
bool pawl_pg_sqlstate_lost(const char *state)
{
	return state == NULL || strncmp(state, "08", 2) == 0 || strcmp(state, "25006") == 0 ||
	    (strncmp(state, "57", 2) == 0 && strcmp(state, "57014") != 0);
}

const char *pawl_pg_default_session_attrs(bool readonly)
{
	/*
	 * A writable pawl needs the primary: with several hosts in storage_url,
	 * libpq skips a standby (or a read-only primary) and tries the next
	 * one, which is how a failover is followed. A read-only head takes any
	 * server. What storage_url says wins over both.
	 */
	return readonly ? "any" : "read-write";
}


bool pawl_pg_same_server(const char *before, const char *now)
{
	return before != NULL && now != NULL && before[0] != '\0' && strcmp(before, now) == 0;
}
