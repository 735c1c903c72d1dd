/*
 * Shared by the hostile-request suite of issue 11 (test_security_stamps.c,
 * test_security_stamps_tokens.c): its users and request helpers.
 */
#ifndef SECURITY_STAMPS_H
#define SECURITY_STAMPS_H

#include <CUnit/CUnit.h>

#include "resource_util.h"

enum who { ALICE, BOB, CAROL, ANON, NWHO };

extern const char *const stamps_names[NWHO];
extern char stamps_auth_hdr[ANON][512];
extern char stamps_uid[ANON][128]; /* "basicauth:<hex>", from the hello view */

/* method path as who, with body and an optional extra header. */
void stamps_as(struct http_resp *r, enum who who, const char *method, const char *path,
	       const char *body, const char *header);

/* The name of the first validation detail of an error body (NULL when none). */
const char *stamps_detail_name(json_object *body);

/* As Alice: the status; data.id into id and data.last_modified into *lm when not NULL. */
long stamps_write(const char *method, const char *path, const char *body, char *id, size_t size,
		  long long *lm);

/* Adds the pagination token tests to the suite. */
void test_security_stamps_tokens_add(CU_pSuite s);

#endif
