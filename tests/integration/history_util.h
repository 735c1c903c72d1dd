/*
 * The history suite's users and helpers (test_history.c), shared with the
 * tests of the entries' SQL paths (test_history_paths.c): both run in the
 * suite "history", whose set-up logs the users in and turns history on.
 */
#ifndef PAWL_TEST_HISTORY_UTIL_H
#define PAWL_TEST_HISTORY_UTIL_H

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "harness.h"

enum { ALICE, BOB, CAROL, DAVE, ERIN, FRANK, ZED, N_USERS };

/* Each user's user id ("basicauth:<hex>"), from the hello view. */
extern char uid[N_USERS][128];

/* A request as user u (-1: anonymous). */
void as(struct http_resp *r, int u, const char *method, const char *path, const char *body);
/* method path as u must answer want; the body is freed. */
void ok_as(int u, const char *method, const char *path, const char *body, long want);
/* GET the history of bucket b with query q ("" for none) as u, into r; its data array. */
json_object *hist(struct http_resp *r, int u, const char *b, const char *q);
/* The number of entries u sees in b with q, -1 when the answer is not a 200 list. */
long count_as(int u, const char *b, const char *q);
/* A fresh bucket of alice's (prefix p) with collection c. */
void fresh(char *b, const char *p);
/* The member at a dotted path of o ("target.data.id"), as a string; NULL when none. */
const char *member(json_object *o, const char *dotted);

/* The tests of test_history_paths.c, added to the suite s. */
void test_history_paths_add(CU_pSuite s);

#endif
