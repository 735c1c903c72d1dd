/*
 * The FastCGI adapter: the only includer of fcgiapp.h (FCGX_* API only,
 * never libfcgi's stdio replacement). Opens or inherits the listening socket, accepts one
 * request at a time, reads its body under a cap, writes a response.
 */
#ifndef PAWL_FCGI_H
#define PAWL_FCGI_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/response.h"

struct pawl_fcgi;

/* Calls FCGX_Init once per process. 0 on success. */
int pawl_fcgi_init(void);

/* How a --listen unix: socket file is made; owner/group (uid_t)-1 keep the process's. */
struct pawl_fcgi_socket_opts {
	int mode;       /* socket_mode */
	uid_t owner;    /* socket_owner */
	gid_t group;    /* socket_group */
	int backlog;
};

/* A socket opened by pawl_fcgi_listen. */
struct pawl_fcgi_socket {
	int fd;
	char path[108];  /* the Unix socket file this process created, "" for TCP */
	dev_t dev;       /* and its identity, so stop removes that file and no other */
	ino_t ino;
};

/*
 * Opens a listening socket for --listen: "unix:/path", "HOST:PORT" or ":PORT".
 * A Unix socket path that something accepts on is refused (PAWL_ERR_IO naming
 * the path); a stale socket file there is replaced; any other file is left
 * alone and refused. The new file gets o's owner, group and mode before
 * listen(). Errors name the path and the cause. s is filled on success.
 */
enum pawl_err pawl_fcgi_listen(const char *spec, const struct pawl_fcgi_socket_opts *o,
    struct pawl_fcgi_socket *s, struct pawl_error *err);

/*
 * Closes s and removes its socket file if the path still names the file
 * this process created (logs a warning when it cannot). For the process that
 * called pawl_fcgi_listen only, never for the workers it forked.
 */
void pawl_fcgi_unlisten(struct pawl_fcgi_socket *s);

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
