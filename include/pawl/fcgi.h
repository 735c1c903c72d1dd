/*
 * The FastCGI adapter: the only includer of fcgiapp.h (FCGX_* API only,
 * never libfcgi's stdio replacement). Opens or inherits the listening socket, accepts one
 * request at a time, reads its body under a cap, writes a response.
 */
#ifndef PAWL_FCGI_H
#define PAWL_FCGI_H

#include <signal.h>
#include <stddef.h>

#include "pawl/arena.h"
#include "pawl/err.h"
#include "pawl/response.h"

struct pawl_fcgi;

/* Calls FCGX_Init once per process. 0 on success. */
int pawl_fcgi_init(void);

/*
 * Opens a listening socket for --listen: "unix:/path" (created with mode,
 * replacing a stale socket file), "HOST:PORT" or ":PORT". *fd gets it.
 */
enum pawl_err pawl_fcgi_listen(const char *spec, int mode, int backlog, int *fd,
    struct pawl_error *err);

/* True when fd is a listening socket (spawn-fcgi's fd 0). */
int pawl_fcgi_is_listener(int fd);

/* A request slot on listen_fd. NULL on OOM. */
struct pawl_fcgi *pawl_fcgi_new(int listen_fd);
void pawl_fcgi_free(struct pawl_fcgi *f);

/*
 * Waits until a request may be accepted: the listening socket (or a kept-alive
 * connection) is readable. sigmask is the signal mask in force while waiting
 * (ppoll), so a stop signal blocked elsewhere interrupts only the wait.
 * Returns 1 when ready, 0 when interrupted, -1 on error.
 */
int pawl_fcgi_wait(struct pawl_fcgi *f, const sigset_t *sigmask);

/*
 * Accepts the request and reads its parameters. The listening socket is
 * non-blocking: returns 1 on success, 0 when another worker took the
 * connection first, -1 on a socket error.
 */
int pawl_fcgi_accept(struct pawl_fcgi *f);

/* The request's "NAME=VALUE" parameters, NULL-terminated; valid until finish. */
char *const *pawl_fcgi_params(const struct pawl_fcgi *f);

/*
 * Reads the whole request body into the arena, at most max bytes.
 * PAWL_ERR_TOO_LARGE when the declared length or the bytes sent exceed max.
 * *body is NULL and *len 0 when there is no body.
 */
enum pawl_err pawl_fcgi_read_body(struct pawl_fcgi *f, struct pawl_arena *arena,
    long long max, const char **body, size_t *len, struct pawl_error *err);

/* Writes status line, headers, Content-Length and (unless omitted) the body. */
void pawl_fcgi_send(struct pawl_fcgi *f, const struct pawl_response *resp);

/* Ends the request (flushes and releases libfcgi's buffers). */
void pawl_fcgi_finish(struct pawl_fcgi *f);

#endif
