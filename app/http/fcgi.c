/*
 * The FastCGI adapter, and the only includer of fcgiapp.h: FCGX_* calls with
 * an explicit request object (no hidden global request, no stdio macros).
 * It moves bytes between the socket and pawl's request/response structs and
 * takes no decision about them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "http/fcgi.h"
#include "core/log.h"
#include "core/str.h"

#define READ_CHUNK 16384
/* A refused body is read and dropped up to this much, so nginx sees our answer. */
#define DRAIN_MAX (64LL * 1024 * 1024)

struct pawl_fcgi {
	FCGX_Request req;
	int listen_fd;
	int epoll_fd; /* the listener alone, EPOLLEXCLUSIVE; -1 if the kernel refused */
};

static void ignore_usr1(int sig)
{
	(void)sig;
}

/*
 * libfcgi installs, where SIGUSR1 is left at its default, a handler that
 * makes every later accept fail for good; a process forked afterwards
 * inherits the flag. SIGUSR1 means "reopen logs" here, as in nginx: a
 * handler of ours goes first, so libfcgi leaves the signal alone.
 */
int pawl_fcgi_init(void)
{
	struct sigaction sa;

	if (sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = ignore_usr1;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	return FCGX_Init();
}

int pawl_fcgi_is_listener(int fd)
{
	int val = 0;
	socklen_t len = sizeof(val);
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) == 0 && val;
}

/* Why a socket call failed on path, in an admin's words. */
static enum pawl_err socket_error(struct pawl_error *err, const char *what, const char *path,
    int e)
{
	const char *hint = "";

	if (e == EACCES || e == EPERM)
		hint = " (the folder must be writable by the user pawl-fcgi starts as)";
	else if (e == EADDRINUSE)
		hint = " (another server listens there)";
	else if (e == ENOENT)
		hint = " (its folder does not exist: create it, e.g. /run/pawl)";
	return pawl_error_set(err, PAWL_ERR_IO, "cannot %s %s: %s%s", what, path, strerror(e), hint);
}

/*
 * As spawn-fcgi and nginx do: a socket file something still accepts on is
 * in use and is left alone; one nobody accepts on (ECONNREFUSED) is what a
 * stopped server left behind and is replaced. Anything else at the path is
 * not ours to remove.
 */
static enum pawl_err clear_stale(const struct sockaddr_un *sa, struct pawl_error *err)
{
	const char *path = sa->sun_path;
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? PAWL_OK : socket_error(err, "inspect", path, errno);
	if (!S_ISSOCK(st.st_mode))
		return pawl_error_set(err, PAWL_ERR_IO, "cannot listen on %s: it exists and is not "
		    "a socket; refusing to replace it", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return socket_error(err, "probe", path, errno);
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	e = errno;
	close(fd);
	if (rc == 0)
		return pawl_error_set(err, PAWL_ERR_IO, "cannot listen on %s: another server is "
		    "accepting connections on it (a running pawl-fcgi?); stop it first or choose "
		    "another path", path);
	if (e != ECONNREFUSED)
		return socket_error(err, "probe the existing socket", path, e);
	if (unlink(path) != 0 && errno != ENOENT)
		return socket_error(err, "remove the stale socket", path, errno);
	return PAWL_OK;
}

/* Owner, group and mode of the new socket file; before listen(), so nginx never sees it half set. */
static enum pawl_err socket_perms(const char *path, const struct pawl_fcgi_socket_opts *o,
    struct pawl_error *err)
{
	if ((o->owner != (uid_t)-1 || o->group != (gid_t)-1) &&
	    chown(path, o->owner, o->group) != 0)
		return socket_error(err, "set socket_owner/socket_group of", path, errno);
	if (chmod(path, (mode_t)o->mode) != 0)
		return socket_error(err, "set socket_mode of", path, errno);
	return PAWL_OK;
}

static enum pawl_err listen_unix(const char *path, const struct pawl_fcgi_socket_opts *o,
    struct pawl_fcgi_socket *s, struct pawl_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (*path != '/')
		return pawl_error_set(err, PAWL_ERR_CONFIG, "--listen unix: needs an absolute path");
	if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(s->path))
		return pawl_error_set(err, PAWL_ERR_CONFIG, "--listen unix:%s: the path is longer "
		    "than a Unix socket allows (%zu bytes)", path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (clear_stale(&sa, err) != PAWL_OK)
		return err->code;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return socket_error(err, "create a socket for", path, errno);
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		socket_error(err, "create socket", path, errno);
		close(fd);
		return err->code;
	}
	/* Ours from here: removed on failure, and on stop while it is still this file. */
	memcpy(s->path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	s->fd = fd;
	if (socket_perms(path, o, err) != PAWL_OK || listen(fd, o->backlog) != 0) {
		if (err->code == PAWL_OK)
			socket_error(err, "listen on", path, errno);
		pawl_fcgi_unlisten(s);
		return err->code;
	}
	return PAWL_OK;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address). */
static enum pawl_err listen_tcp(const char *spec, int backlog, struct pawl_fcgi_socket *s,
    struct pawl_error *err)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *res = NULL;
	const char *colon = strrchr(spec, ':');
	char host[256];
	size_t n = (size_t)(colon - spec);
	int fd = -1, one = 1, rc;

	if (spec[0] == '[' && n >= 2 && spec[n - 1] == ']') {
		spec++;
		n -= 2;
	}
	if (n >= sizeof(host) || colon[1] == '\0')
		return pawl_error_set(err, PAWL_ERR_CONFIG, "--listen expects unix:/path, HOST:PORT "
		    "or :PORT, got '%s'", spec);
	memcpy(host, spec, n);
	host[n] = '\0';
	if ((rc = getaddrinfo(n > 0 ? host : NULL, colon + 1, &hints, &res)) != 0)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "--listen %s: %s", spec, gai_strerror(rc));
	if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
		socket_error(err, "listen on", spec, errno);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return err->code;
	}
	freeaddrinfo(res);
	s->fd = fd;
	return PAWL_OK;
}

enum pawl_err pawl_fcgi_listen(const char *spec, const struct pawl_fcgi_socket_opts *o,
    struct pawl_fcgi_socket *s, struct pawl_error *err)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	pawl_error_clear(err);
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, o, s, err);
	if (strchr(spec, ':') == NULL)
		return pawl_error_set(err, PAWL_ERR_CONFIG,
		    "--listen expects unix:/path, HOST:PORT or :PORT, got '%s'", spec);
	return listen_tcp(spec, o->backlog, s, err);
}

void pawl_fcgi_unlisten(struct pawl_fcgi_socket *s)
{
	struct stat st;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	/* Only the file this process made: a later server's socket at the same path stays. */
	if (s->path[0] != '\0' && lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino && unlink(s->path) != 0)
		pawl_log_warn("cannot remove socket %s: %s (the next start replaces it)", s->path,
		    strerror(errno));
	s->path[0] = '\0';
}

struct pawl_fcgi *pawl_fcgi_new(int listen_fd)
{
	struct pawl_fcgi *f = calloc(1, sizeof(*f));
	int fl;

	if (f == NULL)
		return NULL;
	f->epoll_fd = -1;
	/*
	 * Non-blocking listener: workers wait in epoll_pwait or ppoll (both
	 * interruptible), and one that loses the race for a connection gets
	 * EAGAIN instead of blocking in accept() where a stop signal could not
	 * reach it. Accepted sockets do not inherit O_NONBLOCK on Linux.
	 */
	fl = fcntl(listen_fd, F_GETFL);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    FCGX_InitRequest(&f->req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		free(f);
		return NULL;
	}
	f->listen_fd = listen_fd;
	/*
	 * Idle workers all wait on one listening socket. With poll every new
	 * connection wakes each of them and all but one find nothing to accept;
	 * an exclusive epoll wait wakes one (Linux 4.5+).
	 */
	f->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epoll_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };

		if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
			close(f->epoll_fd);
			f->epoll_fd = -1;
		}
	}
	return f;
}

void pawl_fcgi_free(struct pawl_fcgi *f)
{
	if (f == NULL)
		return;
	FCGX_Free(&f->req, 1);
	if (f->epoll_fd >= 0)
		close(f->epoll_fd);
	free(f);
}

int pawl_fcgi_wait(struct pawl_fcgi *f, const sigset_t *sigmask)
{
	struct pollfd fds[2] = { { .fd = f->listen_fd, .events = POLLIN } };
	nfds_t n = 1;
	int rc;

	if (f->epoll_fd >= 0 && !(f->req.ipcFd >= 0 && f->req.keepConnection)) {
		struct epoll_event ev;

		rc = epoll_pwait(f->epoll_fd, &ev, 1, -1, sigmask);
		if (rc < 0)
			return errno == EINTR ? 0 : -1;
		return 1;
	}
	/* With fastcgi_keep_conn, the next request may come on the kept connection. */
	if (f->req.ipcFd >= 0 && f->req.keepConnection) {
		fds[1].fd = f->req.ipcFd;
		fds[1].events = POLLIN;
		n = 2;
	}
	rc = ppoll(fds, n, NULL, sigmask);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	return 1;
}

int pawl_fcgi_accept(struct pawl_fcgi *f)
{
	if (FCGX_Accept_r(&f->req) == 0)
		return 1;
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
}

char *const *pawl_fcgi_params(const struct pawl_fcgi *f)
{
	return f->req.envp;
}

static void drain(FCGX_Stream *in)
{
	char buf[READ_CHUNK];
	long long total = 0;
	int n;

	while (total < DRAIN_MAX && (n = FCGX_GetStr(buf, sizeof(buf), in)) > 0)
		total += n;
}

static enum pawl_err too_large(FCGX_Stream *in, long long max, struct pawl_error *err)
{
	drain(in);
	return pawl_error_set(err, PAWL_ERR_TOO_LARGE,
	    "Request body is larger than the limit of %lld bytes.", max);
}

enum pawl_err pawl_fcgi_read_body(struct pawl_fcgi *f, struct pawl_arena *arena,
    long long max, const char **body, size_t *len, struct pawl_error *err)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", f->req.envp);
	long long declared = -1;
	struct pawl_buf buf;
	char chunk[READ_CHUNK];
	int n;

	*body = NULL;
	*len = 0;
	if (cl != NULL && *cl != '\0' && !pawl_str_to_ll(cl, 0, PAWL_STR_INT_MAX, &declared))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "header", "Content-Length",
		    "Content-Length is not a number");
	if (declared > max)
		return too_large(f->req.in, max, err);
	pawl_buf_init(&buf, arena);
	/* The declared length may be absent (chunked upload): the cap holds regardless. */
	while ((n = FCGX_GetStr(chunk, sizeof(chunk), f->req.in)) > 0) {
		if ((long long)buf.len + n > max)
			return too_large(f->req.in, max, err);
		pawl_buf_append(&buf, chunk, (size_t)n);
	}
	if (buf.failed)
		return pawl_error_nomem(err);
	if (buf.len > 0) {
		*body = buf.data;
		*len = buf.len;
	}
	return PAWL_OK;
}

/* Kinto's 500 body (docs/protocol.md §7), for when no other can be built. */
#define FIXED_500 "{\"code\":500,\"errno\":999,\"error\":\"Internal Server Error\"," \
	"\"message\":\"A programmatic error occurred, developers have been informed.\""

/* The fixed 500, with the request id (a short checked token) when there is one. */
static void send_fixed_500(FCGX_Stream *out, const char *rid)
{
	char body[384], fixed[768];
	int b, n;

	if (rid != NULL && strlen(rid) <= 64)
		b = snprintf(body, sizeof(body), "%s,\"request_id\":\"%s\"}", FIXED_500, rid);
	else
		b = snprintf(body, sizeof(body), "%s}", FIXED_500);
	n = snprintf(fixed, sizeof(fixed), "Status: 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\n%s%s%sContent-Length: %d\r\n\r\n%s",
	    rid ? "X-Request-Id: " : "", rid ? rid : "", rid ? "\r\n" : "", b, body);
	FCGX_PutStr(fixed, n, out);
}

void pawl_fcgi_send(struct pawl_fcgi *f, const struct pawl_response *resp)
{
	FCGX_Stream *out = f->req.out;
	struct pawl_buf head;
	size_t i;

	/* The header block is built in the arena and handed over in one piece. */
	pawl_buf_init(&head, resp->arena);
	pawl_buf_printf(&head, "Status: %d %s\r\n", resp->status, pawl_err_reason(resp->status));
	for (i = 0; i < resp->n_headers; i++) {
		pawl_buf_puts(&head, resp->headers[i].name);
		pawl_buf_puts(&head, ": ");
		pawl_buf_puts(&head, resp->headers[i].value);
		pawl_buf_puts(&head, "\r\n");
	}
	pawl_buf_printf(&head, "Content-Length: %zu\r\n\r\n", resp->body.len);
	if (head.failed || pawl_response_failure(resp) != PAWL_OK) {
		/* Even its error answer could not be built: a fixed one, nothing half-built. */
		send_fixed_500(out, resp->request_id);
		return;
	}
	FCGX_PutStr(head.data, (int)head.len, out);
	if (!resp->omit_body && resp->body.len > 0)
		FCGX_PutStr(resp->body.data, (int)resp->body.len, out);
}

void pawl_fcgi_finish(struct pawl_fcgi *f)
{
	/*
	 * libfcgi's close is a lingering one: shutdown(), then wait (up to 2 s)
	 * for the peer to close, so unread input cannot turn into a reset that
	 * loses the response. When the whole input was read there is nothing to
	 * reset on, and nginx closes as soon as it has the end of the response:
	 * a detached request closes at once, and the worker takes the next
	 * request a round trip earlier. Unread input keeps the careful close.
	 */
	if (!f->req.keepConnection && f->req.in != NULL && FCGX_HasSeenEOF(f->req.in) == EOF)
		FCGX_Detach(&f->req);
	FCGX_Finish_r(&f->req);
	f->req.detached = 0;
}
