/*
 * pawl-jsonl.so, the in-tree listener plugin: appends each event to a file
 * as one JSON line {"event": <payload>, "impacted": [{"old":…,"new":…},…]}.
 * Compiled against include/pawl/ only; the pawl_event_* accessors resolve
 * to pawl-fcgi's own at dlopen(). One write() per line on an O_APPEND
 * descriptor, so lines of concurrent workers never interleave. Never exits,
 * never blocks for longer than a local write.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* open(O_CLOEXEC), strdup: nothing of pawl's config.h needed */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pawl/listener.h"

#define JSONL_MODE 0640

enum { FAIL_OPEN = 1, FAIL_WRITE = 2 };

/* Every event_listeners.<name>.* key this plugin understands. */
static const char *const known_options[] = { "use", "actions", "resources", "path", NULL };

struct jsonl {
	char name[64];      /* the listener's alias, for messages */
	char *path;
	int fd;             /* -1 when the file could not be (re)opened */
	dev_t dev;          /* identity of the open file: a rotated path is reopened */
	ino_t ino;
	int failing;        /* the last event was lost: FAIL_OPEN or FAIL_WRITE, else 0 */
	unsigned long lost; /* lines not written since the last success */
};

static void say(const struct jsonl *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line on stderr (pawl's log) per state change, never per event. */
static void say(const struct jsonl *j, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pawl-jsonl: listener '%s': %s\n", j->name, msg);
}

static int open_file(struct jsonl *j)
{
	struct stat st;
	int fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, JSONL_MODE);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	return 0;
}

/* Reopens when the path no longer names the open file (logrotate moved it). */
static int ensure_open(struct jsonl *j)
{
	struct stat st;

	if (j->fd >= 0 && stat(j->path, &st) == 0 && st.st_dev == j->dev && st.st_ino == j->ino)
		return 0;
	return open_file(j);
}

static void failed(struct jsonl *j, int how, const char *what)
{
	j->lost++;
	if (!j->failing)
		say(j, "cannot %s %s: %s (events are dropped until it works again)", what, j->path,
		    strerror(errno));
	j->failing = how;
}

static size_t json_len(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

static char *put(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* The line for ev, malloc'ed, its length in *len; NULL when out of memory. */
static char *build_line(const struct pawl_event *ev, size_t *len)
{
	const char *payload = pawl_event_payload(ev);
	size_t n = pawl_event_impacted_count(ev), size, i;
	char *line, *p;

	size = sizeof("{\"event\":,\"impacted\":[]}\n") + strlen(payload);
	for (i = 0; i < n; i++)
		size += sizeof("{\"old\":,\"new\":},") + json_len(pawl_event_impacted_old(ev, i)) +
		    json_len(pawl_event_impacted_new(ev, i));
	if ((line = malloc(size)) == NULL)
		return NULL;
	p = put(line, "{\"event\":");
	p = put(p, payload);
	p = put(p, ",\"impacted\":[");
	for (i = 0; i < n; i++) {
		const char *old = pawl_event_impacted_old(ev, i), *fresh = pawl_event_impacted_new(ev, i);

		p = put(p, i > 0 ? ",{" : "{");
		/* As in Kinto, a create has no "old" key (and a read none either). */
		if (old != NULL) {
			p = put(p, "\"old\":");
			p = put(p, old);
		}
		if (fresh != NULL) {
			p = put(p, old != NULL ? ",\"new\":" : "\"new\":");
			p = put(p, fresh);
		}
		*p++ = '}';
	}
	p = put(p, "]}\n");
	*len = (size_t)(p - line);
	return line;
}

/* One write() for the whole line; a short write (disk full) is finished, not dropped. */
static int write_line(struct jsonl *j, const char *line, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(j->fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

static void jsonl_notify(const struct pawl_event *ev, void *ctx)
{
	struct jsonl *j = ctx;
	size_t len = 0;
	char *line;

	if (ensure_open(j) != 0) {
		failed(j, FAIL_OPEN, "open");
		return;
	}
	if ((line = build_line(ev, &len)) == NULL) {
		errno = ENOMEM;
		failed(j, FAIL_WRITE, "format an event for");
		return;
	}
	if (write_line(j, line, len) != 0) {
		failed(j, FAIL_WRITE, "write to");
	} else if (j->failing) {
		say(j, "writing to %s again (%lu event%s lost)", j->path, j->lost,
		    j->lost == 1 ? "" : "s");
		j->failing = 0;
		j->lost = 0;
	}
	free(line);
}

/*
 * Healthy: the path names the open file (or could be reopened now) and is
 * writable, and the last write did not fail (a full disk: access() would not say).
 */
static int jsonl_healthy(void *ctx)
{
	struct jsonl *j = ctx;

	return ensure_open(j) == 0 && access(j->path, W_OK) == 0 && j->failing != FAIL_WRITE;
}

static void jsonl_close(void *ctx)
{
	struct jsonl *j = ctx;

	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

static int refuse(const struct pawl_listener_settings *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int refuse(const struct pawl_listener_settings *s, const char *fmt, ...)
{
	va_list ap;

	if (s->error != NULL && s->error_size > 0) {
		va_start(ap, fmt);
		vsnprintf(s->error, s->error_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int known(const char *key)
{
	const char *const *k;

	for (k = known_options; *k != NULL; k++)
		if (strcmp(*k, key) == 0)
			return 1;
	return 0;
}

PAWL_LISTENER_PLUGIN;

int pawl_listener_load(const struct pawl_listener_settings *settings, struct pawl_listener *out)
{
	const char *path;
	struct jsonl *j;
	size_t i;

	if (settings->abi != PAWL_LISTENER_ABI)
		return refuse(settings, "built for listener ABI %d, pawl speaks %d",
		    PAWL_LISTENER_ABI, settings->abi);
	for (i = 0; i < settings->n_options; i++)
		if (!known(settings->options[i].key))
			return refuse(settings, "unknown option 'event_listeners.%s.%s' (jsonl takes "
			    "'path')", settings->name, settings->options[i].key);
	path = pawl_listener_option(settings, "path");
	if (path == NULL || path[0] == '\0')
		return refuse(settings, "setting 'event_listeners.%s.path' is required (the file "
		    "to append events to)", settings->name);
	if ((j = calloc(1, sizeof(*j))) == NULL || (j->path = strdup(path)) == NULL) {
		free(j);
		return refuse(settings, "out of memory");
	}
	snprintf(j->name, sizeof(j->name), "%s", settings->name);
	j->fd = -1;
	if (open_file(j) != 0) {
		int e = errno;

		jsonl_close(j);
		return refuse(settings, "setting 'event_listeners.%s.path': cannot open %s: %s",
		    settings->name, path, strerror(e));
	}
	out->ctx = j;
	out->notify = jsonl_notify;
	out->close = jsonl_close;
	out->healthy = jsonl_healthy;
	return 0;
}
