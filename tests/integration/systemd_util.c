/*
 * The test's side of systemd for test_systemd.c: a datagram socket named by
 * NOTIFY_SOCKET collects what pawl-fcgi says (with each sender's pid,
 * SO_PASSCRED), and a socket made by the test is passed as fd 3 with
 * LISTEN_FDS and LISTEN_PID set in the child after fork, before exec, as
 * sd_listen_fds(3) expects them.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "systemd_util.h"

long long unit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool write_ini(const struct unit *u, const char *extra_ini)
{
	char url[1024], secret[256];
	FILE *f;

	harness_ini_value("storage_url", url, sizeof url);
	harness_ini_value("userid_hmac_secret", secret, sizeof secret);
	if ((f = fopen(u->ini, "w")) == NULL)
		return false;
	fprintf(f, "[app:main]\nstorage_url = %s\nuserid_hmac_secret = %s\nlog_format = text\n"
		"allow_root = true\n%s", url, secret, extra_ini ? extra_ini : "");
	return fclose(f) == 0;
}

bool unit_init(struct unit *u, int sock_type, const char *extra_ini)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1;

	memset(u, 0, sizeof *u);
	u->notify_fd = u->listen_fd = -1;
	snprintf(u->dir, sizeof u->dir, "/tmp/pawl-systemd-XXXXXX");
	if (mkdtemp(u->dir) == NULL)
		return false;
	snprintf(u->ini, sizeof u->ini, "%s/pawl.ini", u->dir);
	snprintf(u->sock, sizeof u->sock, "%s/pawl.sock", u->dir);
	snprintf(u->notify, sizeof u->notify, "%s/notify", u->dir);
	snprintf(u->log, sizeof u->log, "%s/pawl.log", u->dir);
	if (!write_ini(u, extra_ini))
		return false;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", u->notify);
	u->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u->notify_fd < 0 || bind(u->notify_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    setsockopt(u->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
		return false;
	/* What a .socket unit holds: made and listening before the service starts. */
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", u->sock);
	u->listen_fd = socket(AF_UNIX, sock_type | SOCK_CLOEXEC, 0);
	if (u->listen_fd < 0 || bind(u->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    chmod(u->sock, 0666) != 0)
		return false;
	return sock_type != SOCK_STREAM || listen(u->listen_fd, 128) == 0;
}

/* fd 3 (and 4) as systemd passes them: without FD_CLOEXEC, whatever they were before. */
static bool pass_fds(int listen_fd, int extra_fd)
{
	int a = fcntl(listen_fd, F_DUPFD, 10), b = extra_fd >= 0 ? fcntl(extra_fd, F_DUPFD, 10) : -1;

	if (a < 0 || dup2(a, 3) != 3 || fcntl(3, F_SETFD, 0) != 0)
		return false;
	return extra_fd < 0 || (b >= 0 && dup2(b, 4) == 4 && fcntl(4, F_SETFD, 0) == 0);
}

/* In the child: the environment systemd gives a service, then exec. Never returns. */
static void child_exec(const struct unit *u, const struct unit_start *st)
{
	const char *bin = getenv("PAWL_BIN");
	char *env[10], listen_pid[32], notify[160], wd_usec[48], wd_pid[32], extra[256];
	int n = 0, fd;

	if ((fd = open(u->log, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0 || dup2(fd, 1) != 1 ||
	    dup2(fd, 2) != 2 || (fd = open("/dev/null", O_RDONLY)) < 0 || dup2(fd, 0) != 0 ||
	    !pass_fds(u->listen_fd, st->extra_fd))
		_exit(126);
	env[n++] = "PATH=/usr/bin:/bin";
	/* Set after fork, as systemd does: they name this very process. */
	snprintf(listen_pid, sizeof listen_pid, "LISTEN_PID=%ld",
		 st->wrong_pid ? (long)getppid() : (long)getpid());
	env[n++] = listen_pid;
	env[n++] = st->extra_fd >= 0 ? "LISTEN_FDS=2" : "LISTEN_FDS=1";
	snprintf(notify, sizeof notify, "NOTIFY_SOCKET=%s", u->notify);
	if (st->notify)
		env[n++] = notify;
	snprintf(wd_usec, sizeof wd_usec, "WATCHDOG_USEC=%d", UNIT_WATCHDOG_USEC);
	snprintf(wd_pid, sizeof wd_pid, "WATCHDOG_PID=%ld", (long)getpid());
	if (st->watchdog) {
		env[n++] = wd_usec;
		env[n++] = wd_pid;
	}
	snprintf(extra, sizeof extra, "%s", st->extra_env != NULL ? st->extra_env : "");
	if (st->extra_env != NULL)
		env[n++] = extra;
	env[n] = NULL;
	if (strcmp(st->command, "relay") == 0)
		execle(bin, bin, "relay", "-c", u->ini, (char *)NULL, env);
	else if (st->listen != NULL)
		execle(bin, bin, "serve", "-c", u->ini, "--workers", "2", "--listen", st->listen,
		       (char *)NULL, env);
	else
		execle(bin, bin, "serve", "-c", u->ini, "--workers", "2", (char *)NULL, env);
	_exit(127);
}

void unit_start(struct unit *u, const struct unit_start *st)
{
	u->pid = fork();
	if (u->pid == 0)
		child_exec(u, st);
}

static void receive_one(struct unit *u)
{
	char buf[512], cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof cbuf };
	struct cmsghdr *c;
	ssize_t got = recvmsg(u->notify_fd, &mh, MSG_DONTWAIT);

	if (got < 0)
		return;
	buf[got] = '\0';
	snprintf(u->msgs[u->n].text, sizeof u->msgs[u->n].text, "%s", buf);
	u->msgs[u->n].from = -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			u->msgs[u->n].from = cred.pid;
		}
	u->msgs[u->n++].at_ms = unit_now_ms();
}

void unit_receive(struct unit *u, long ms)
{
	struct pollfd p = { .fd = u->notify_fd, .events = POLLIN };

	while (u->n < UNIT_MAX_MSGS && poll(&p, 1, (int)ms) == 1) {
		receive_one(u);
		ms = 0;
	}
}

const char *unit_field(const char *msg, const char *f)
{
	size_t n = strlen(f);
	const char *line = msg;

	while (line != NULL && *line != '\0') {
		if (strncmp(line, f, n) == 0 &&
		    (f[n - 1] == '=' || line[n] == '\n' || line[n] == '\0'))
			return line + n;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return NULL;
}

long unit_wait(struct unit *u, const char *f, long ms)
{
	long long until = unit_now_ms() + ms;

	for (;;) {
		for (size_t i = u->seen; i < u->n; i++)
			if (unit_field(u->msgs[i].text, f) != NULL) {
				u->seen = i + 1;
				return (long)i;
			}
		if (unit_now_ms() >= until)
			return -1;
		unit_receive(u, 50);
	}
}

size_t unit_count(const struct unit *u, const char *f, size_t from)
{
	size_t n = 0;

	for (size_t i = from; i < u->n; i++)
		n += unit_field(u->msgs[i].text, f) != NULL;
	return n;
}

int unit_exit_within(struct unit *u, long ms)
{
	int status;

	for (long waited = 0; u->pid > 0 && !u->reaped; waited += 50) {
		if (waitpid(u->pid, &status, WNOHANG) == u->pid) {
			u->reaped = true;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (waited >= ms)
			break;
		sleep_ms(50);
	}
	return -1;
}

void unit_done(struct unit *u)
{
	char cmd[128];

	if (u->pid > 0 && !u->reaped && unit_exit_within(u, 0) == -1) {
		kill(u->pid, SIGKILL);
		waitpid(u->pid, NULL, 0);
	}
	if (u->notify_fd >= 0)
		close(u->notify_fd);
	if (u->listen_fd >= 0)
		close(u->listen_fd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", u->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "systemd: could not remove %s\n", u->dir);
}

const char *unit_log_tail(const struct unit *u)
{
	static char buf[801];
	FILE *f = fopen(u->log, "r");
	size_t n;
	long size;

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > 800 ? size - 800 : 0, SEEK_SET);
	n = fread(buf, 1, 800, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

bool unit_log_has(const struct unit *u, const char *needle)
{
	char buf[65536];
	FILE *f = fopen(u->log, "r");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, needle) != NULL;
}

bool unit_get_ok(const struct unit *u, const char *path)
{
	char cmd[1024], out[256] = "";
	FILE *p;

	snprintf(cmd, sizeof cmd, "env -i REQUEST_METHOD=GET REQUEST_URI='%s' DOCUMENT_URI='%s' "
		 "QUERY_STRING= SERVER_NAME=localhost SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.1 "
		 "HTTP_HOST=localhost timeout 10 cgi-fcgi -bind -connect '%s' </dev/null",
		 path, path, u->sock);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	if (fgets(out, sizeof out, p) == NULL)
		out[0] = '\0';
	while (fgetc(p) != EOF)
		;
	pclose(p);
	return strncmp(out, "Status: 200", 11) == 0;
}
