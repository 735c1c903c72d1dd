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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "pawl/fcgi.h"
#include "pawl/str.h"

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

enum pawl_err pawl_fcgi_listen(const char *spec, int mode, int backlog, int *fd,
    struct pawl_error *err)
{
	const char *path = NULL;
	struct stat st;

	if (strncmp(spec, "unix:", 5) == 0) {
		path = spec + 5;
		if (*path != '/')
			return pawl_error_set(err, PAWL_ERR_CONFIG, "--listen unix: needs an absolute path");
		/* A socket file left by a previous run would make bind() fail. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	} else if (strchr(spec, ':') == NULL) {
		return pawl_error_set(err, PAWL_ERR_CONFIG,
		    "--listen expects unix:/path, HOST:PORT or :PORT, got '%s'", spec);
	}
	*fd = FCGX_OpenSocket(path ? path : spec, backlog);
	if (*fd < 0)
		return pawl_error_set(err, PAWL_ERR_IO, "cannot listen on %s: %s", spec, strerror(errno));
	if (path != NULL && chmod(path, (mode_t)mode) != 0) {
		close(*fd);
		return pawl_error_set(err, PAWL_ERR_IO, "chmod %s: %s", path, strerror(errno));
	}
	return PAWL_OK;
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
	if (cl != NULL && *cl != '\0' && !pawl_str_to_ll(cl, 0, (long long)1 << 62, &declared))
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
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	if (buf.len > 0) {
		*body = buf.data;
		*len = buf.len;
	}
	return PAWL_OK;
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
	if (head.failed) {
		FCGX_FPrintF(out, "Status: 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
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
