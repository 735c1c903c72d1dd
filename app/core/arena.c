/*
 * Per-request arena: a chain of blocks plus a list of deferred cleanups.
 * Reset is the one place where a request's memory and foreign objects die;
 * it must never free the first block, which the next request reuses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

#define ALIGN 16u

struct block {
	struct block *next;
	size_t size;
	size_t used;
	unsigned char *data;
};

struct cleanup {
	struct cleanup *next;
	pawl_arena_cleanup_fn *fn;
	void *ptr;
};

struct pawl_arena {
	struct block *head;     /* current block (most recent) */
	struct block *first;    /* kept across resets */
	struct cleanup *cleanups;
	size_t block_size;
	size_t used;
};

static struct block *block_new(size_t size)
{
	struct block *b = malloc(sizeof(*b) + size + ALIGN);

	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	b->data = (unsigned char *)(((uintptr_t)(b + 1) + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
	return b;
}

struct pawl_arena *pawl_arena_new(size_t block_size)
{
	struct pawl_arena *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->block_size = block_size < 1024 ? 1024 : block_size;
	a->first = a->head = block_new(a->block_size);
	if (a->first == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

static void run_cleanups(struct pawl_arena *a)
{
	/* Cleanups are pushed on a stack, so they run last-registered first. */
	while (a->cleanups != NULL) {
		struct cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->ptr);
	}
}

void pawl_arena_reset(struct pawl_arena *a)
{
	struct block *b, *next;

	if (a == NULL)
		return;
	run_cleanups(a);
	for (b = a->head; b != NULL && b != a->first; b = next) {
		next = b->next;
		free(b);
	}
	a->head = a->first;
	a->first->next = NULL;
	a->first->used = 0;
	a->used = 0;
}

void pawl_arena_free(struct pawl_arena *a)
{
	if (a == NULL)
		return;
	pawl_arena_reset(a);
	free(a->first);
	free(a);
}

void *pawl_arena_alloc(struct pawl_arena *a, size_t size)
{
	struct block *b = a->head;
	size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (need < size)
		return NULL; /* overflow */
	if (need == 0)
		need = ALIGN;
	if (b->size - b->used < need) {
		size_t bs = need > a->block_size ? need : a->block_size;

		b = block_new(bs);
		if (b == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	a->used += need;
	return p;
}

void *pawl_arena_calloc(struct pawl_arena *a, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	p = pawl_arena_alloc(a, nmemb * size);
	if (p != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

char *pawl_arena_strndup(struct pawl_arena *a, const char *s, size_t n)
{
	char *p;

	if (s == NULL || n == SIZE_MAX)
		return NULL;
	p = pawl_arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *pawl_arena_strdup(struct pawl_arena *a, const char *s)
{
	return s == NULL ? NULL : pawl_arena_strndup(a, s, strlen(s));
}

char *pawl_arena_vprintf(struct pawl_arena *a, const char *fmt, va_list ap)
{
	va_list copy;
	char *p;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return NULL;
	p = pawl_arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *pawl_arena_printf(struct pawl_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = pawl_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

int pawl_arena_defer(struct pawl_arena *a, pawl_arena_cleanup_fn *fn, void *ptr)
{
	struct cleanup *c = pawl_arena_alloc(a, sizeof(*c));

	if (c == NULL) {
		fn(ptr);
		return -1;
	}
	c->fn = fn;
	c->ptr = ptr;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}

size_t pawl_arena_used(const struct pawl_arena *a)
{
	return a->used;
}
