/* Unit tests for app/core/arena.c: alignment, growth, copies, cleanups, reuse. */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "unit.h"

#define ARENA_ALIGN 16u

/* Records the order in which deferred cleanups ran. */
struct trace {
	int order[8];
	int n;
};

struct mark {
	struct trace *trace;
	int id;
};

static void record(void *ptr)
{
	struct mark *m = ptr;

	if (m->trace->n < 8)
		m->trace->order[m->trace->n++] = m->id;
}

static void count(void *ptr)
{
	(*(int *)ptr)++;
}

static void test_alloc_alignment(void)
{
	struct pawl_arena *a = pawl_arena_new(0);
	size_t sizes[] = { 1, 3, 7, 8, 15, 16, 17, 33, 100, 0 };
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = pawl_arena_alloc(a, sizes[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL((uintptr_t)p % ARENA_ALIGN, 0);
		memset(p, 0xab, sizes[i]);
	}
	pawl_arena_free(a);
}

static void test_alloc_distinct(void)
{
	struct pawl_arena *a = pawl_arena_new(1024);
	char *p, *q;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	p = pawl_arena_alloc(a, 10);
	q = pawl_arena_alloc(a, 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT(q >= p + 10 || p >= q + 10);
	memset(p, 'p', 10);
	memset(q, 'q', 10);
	CU_ASSERT_EQUAL(p[9], 'p');
	CU_ASSERT_EQUAL(q[0], 'q');
	pawl_arena_free(a);
}

static void test_big_allocations(void)
{
	struct pawl_arena *a = pawl_arena_new(1024);
	unsigned char *small, *big, *after;
	size_t bigsize = 1u << 20;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	small = pawl_arena_alloc(a, 100);
	big = pawl_arena_alloc(a, bigsize);
	after = pawl_arena_alloc(a, 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(small);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	CU_ASSERT_EQUAL((uintptr_t)big % ARENA_ALIGN, 0);
	memset(big, 0x5a, bigsize); /* ASan checks the whole range is ours */
	memset(small, 1, 100);
	memset(after, 2, 100);
	CU_ASSERT_EQUAL(big[bigsize - 1], 0x5a);
	CU_ASSERT_EQUAL(small[99], 1);
	CU_ASSERT_PTR_NULL(pawl_arena_alloc(a, SIZE_MAX));
	CU_ASSERT_PTR_NULL(pawl_arena_calloc(a, SIZE_MAX / 2, 4));
	pawl_arena_free(a);
}

static void test_calloc_zeroes(void)
{
	struct pawl_arena *a = pawl_arena_new(0);
	unsigned char *p;
	size_t i;
	int zero = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	p = pawl_arena_alloc(a, 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0xff, 64);
	pawl_arena_reset(a); /* the next calloc reuses the dirtied bytes */
	p = pawl_arena_calloc(a, 16, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < 64; i++)
		zero &= p[i] == 0;
	CU_ASSERT(zero);
	pawl_arena_free(a);
}

static void test_strdup_printf(void)
{
	struct pawl_arena *a = pawl_arena_new(0);
	const char *src = "hello";
	char *s, *big;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	s = pawl_arena_strdup(a, src);
	CU_ASSERT_STRING_EQUAL(s, "hello");
	CU_ASSERT_PTR_NOT_EQUAL(s, src);
	CU_ASSERT_PTR_NULL(pawl_arena_strdup(a, NULL));
	CU_ASSERT_STRING_EQUAL(pawl_arena_strndup(a, "abcdef", 3), "abc");
	CU_ASSERT_STRING_EQUAL(pawl_arena_strndup(a, "", 0), "");
	CU_ASSERT_PTR_NULL(pawl_arena_strndup(a, NULL, 3));
	CU_ASSERT_STRING_EQUAL(pawl_arena_printf(a, "%s-%d-%zu", "x", -4, (size_t)7), "x--4-7");
	CU_ASSERT_STRING_EQUAL(pawl_arena_printf(a, "%s", ""), "");
	big = pawl_arena_printf(a, "%5000d|", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_EQUAL(strlen(big), 5001);
	CU_ASSERT_EQUAL(big[4999], '1');
	CU_ASSERT_EQUAL(big[5000], '|');
	pawl_arena_free(a);
}

static void test_defer_reverse_at_reset(void)
{
	struct pawl_arena *a = pawl_arena_new(0);
	struct trace t = { { 0 }, 0 };
	struct mark m[3] = { { &t, 1 }, { &t, 2 }, { &t, 3 } };
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(pawl_arena_defer(a, record, &m[i]), 0);
	CU_ASSERT_EQUAL(t.n, 0);
	pawl_arena_reset(a);
	CU_ASSERT_EQUAL_FATAL(t.n, 3);
	CU_ASSERT_EQUAL(t.order[0], 3);
	CU_ASSERT_EQUAL(t.order[1], 2);
	CU_ASSERT_EQUAL(t.order[2], 1);
	pawl_arena_reset(a); /* cleanups run once, not again */
	CU_ASSERT_EQUAL(t.n, 3);
	pawl_arena_free(a);
	CU_ASSERT_EQUAL(t.n, 3);
}

static void test_defer_reverse_at_free(void)
{
	struct pawl_arena *a = pawl_arena_new(0);
	struct trace t = { { 0 }, 0 };
	struct mark m[2] = { { &t, 1 }, { &t, 2 } };

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(pawl_arena_defer(a, record, &m[0]), 0);
	pawl_arena_alloc(a, 5000); /* cleanups survive block changes */
	CU_ASSERT_EQUAL(pawl_arena_defer(a, record, &m[1]), 0);
	pawl_arena_free(a);
	CU_ASSERT_EQUAL_FATAL(t.n, 2);
	CU_ASSERT_EQUAL(t.order[0], 2);
	CU_ASSERT_EQUAL(t.order[1], 1);
	pawl_arena_free(NULL);
}

static void test_reset_many_cycles(void)
{
	struct pawl_arena *a = pawl_arena_new(1024);
	int cycle, i, ok = 1, calls = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (cycle = 0; cycle < 1000; cycle++) {
		for (i = 0; i < 20; i++) {
			char *s = pawl_arena_printf(a, "cycle %d item %d", cycle, i);

			ok &= s != NULL && strncmp(s, "cycle ", 6) == 0;
		}
		ok &= pawl_arena_alloc(a, 3000 + (size_t)cycle) != NULL;
		ok &= pawl_arena_defer(a, count, &calls) == 0;
		pawl_arena_reset(a);
		ok &= pawl_arena_used(a) == 0;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(calls, 1000);
	pawl_arena_free(a);
}

static void test_used_counter(void)
{
	struct pawl_arena *a = pawl_arena_new(0);
	size_t before;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(pawl_arena_used(a), 0);
	pawl_arena_alloc(a, 1);
	CU_ASSERT(pawl_arena_used(a) >= 1);
	before = pawl_arena_used(a);
	pawl_arena_alloc(a, 100);
	CU_ASSERT(pawl_arena_used(a) >= before + 100);
	before = pawl_arena_used(a);
	pawl_arena_alloc(a, 10000);
	CU_ASSERT(pawl_arena_used(a) >= before + 10000);
	pawl_arena_reset(a);
	CU_ASSERT_EQUAL(pawl_arena_used(a), 0);
	pawl_arena_free(a);
}

void test_arena_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "alloc alignment", test_alloc_alignment },
		{ "allocations are distinct", test_alloc_distinct },
		{ "big allocations", test_big_allocations },
		{ "calloc zeroes reused memory", test_calloc_zeroes },
		{ "strdup, strndup, printf", test_strdup_printf },
		{ "defer runs in reverse at reset", test_defer_reverse_at_reset },
		{ "defer runs in reverse at free", test_defer_reverse_at_free },
		{ "reset over many cycles", test_reset_many_cycles },
		{ "used counter", test_used_counter },
	};
	CU_pSuite suite = CU_add_suite("arena", NULL, NULL);
	size_t i;

	if (suite == NULL)
		return;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
}
