/*
 * Per-request memory arena. Everything a request allocates -- strings, parsed
 * JSON, PGresults, Redis replies -- lives in, or is released through, the
 * request's arena, which the worker resets in exactly one place when the
 * request ends. Nothing allocated here may outlive that reset.
 */
#ifndef PAWL_ARENA_H
#define PAWL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct pawl_arena;

typedef void pawl_arena_cleanup_fn(void *ptr);

/* Creates an arena whose blocks are at least block_size bytes. NULL on OOM. */
struct pawl_arena *pawl_arena_new(size_t block_size);

/* Runs the cleanups and frees every block. NULL is accepted. */
void pawl_arena_free(struct pawl_arena *arena);

/*
 * Runs every registered cleanup (last registered first), then forgets every
 * allocation; keeps the first block for the next request. All pointers handed
 * out before are invalid after this call.
 */
void pawl_arena_reset(struct pawl_arena *arena);

/* Returns size bytes aligned for any type, or NULL when memory runs out. */
void *pawl_arena_alloc(struct pawl_arena *arena, size_t size);

/* Same as pawl_arena_alloc, zero-filled. */
void *pawl_arena_calloc(struct pawl_arena *arena, size_t nmemb, size_t size);

/* Copies of a string (NUL-terminated); NULL in gives NULL out. */
char *pawl_arena_strdup(struct pawl_arena *arena, const char *s);
char *pawl_arena_strndup(struct pawl_arena *arena, const char *s, size_t n);

/* printf into the arena. NULL on OOM or an encoding error. */
char *pawl_arena_printf(struct pawl_arena *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *pawl_arena_vprintf(struct pawl_arena *arena, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Registers fn(ptr) to run at the next reset or free: the way foreign objects
 * (json_object, PGresult, redisReply) are tied to the request. Returns 0, or
 * -1 on OOM, in which case fn(ptr) has already been called.
 */
int pawl_arena_defer(struct pawl_arena *arena, pawl_arena_cleanup_fn *fn, void *ptr);

/* Bytes handed out since the last reset (for tests and metrics). */
size_t pawl_arena_used(const struct pawl_arena *arena);

#endif
