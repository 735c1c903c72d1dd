/*
 * Maps the counters' block: anonymous and inherited across fork, or a file
 * every process of the host maps. The file is created and initialised once,
 * under flock; it is never truncated or rewritten while mapped (another
 * process's mapping would fault), so a file of another layout is refused
 * rather than reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics_shm.h"

struct pawl_metrics_segment *pawl_metrics_shm_anon(struct pawl_error *err)
{
	size_t size = pawl_metrics_segment_size();
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED) {
		pawl_error_set(err, PAWL_ERR_IO, "cannot map %zu bytes of shared memory for the "
		    "metrics: %s", size, strerror(errno));
		return NULL;
	}
	if (pawl_metrics_segment_init(mem, size, err) != PAWL_OK) {
		munmap(mem, size);
		return NULL;
	}
	return mem;
}

/* Under the flock: sizes and initialises a new file, or checks an existing one. */
static void *map_locked(int fd, const char *path, struct pawl_error *err)
{
	size_t size = pawl_metrics_segment_size();
	struct pawl_error why, err_init;
	struct stat st;
	void *mem;
	bool fresh;

	if (fstat(fd, &st) != 0) {
		pawl_error_set(err, PAWL_ERR_IO, "metrics_shm_file '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		pawl_error_set(err, PAWL_ERR_CONFIG, "metrics_shm_file '%s' is %s", path,
		    S_ISREG(st.st_mode) ? "owned by another user" : "not a regular file");
		return NULL;
	}
	fresh = st.st_size == 0;
	if (fresh && ftruncate(fd, (off_t)size) != 0) {
		pawl_error_set(err, PAWL_ERR_IO, "metrics_shm_file '%s': cannot size it: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (!fresh && (size_t)st.st_size != size) {
		pawl_error_set(err, PAWL_ERR_CONFIG, "metrics_shm_file '%s' holds %lld bytes, this "
		    "pawl needs %zu (another version's? remove it while pawl is stopped)", path,
		    (long long)st.st_size, size);
		return NULL;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		pawl_error_set(err, PAWL_ERR_IO, "metrics_shm_file '%s': cannot map it: %s", path,
		    strerror(errno));
		return NULL;
	}
	/*
	 * A block without its stamp is new, or was sized by a process that died
	 * before stamping it (nobody counts into an unstamped block): stamp it.
	 */
	if (pawl_metrics_segment_check(mem, size, &why) == PAWL_OK ||
	    pawl_metrics_segment_init(mem, size, &err_init) == PAWL_OK)
		return mem;
	pawl_error_set(err, PAWL_ERR_CONFIG, "metrics_shm_file '%s': %s (remove it while pawl is "
	    "stopped)", path, why.message);
	munmap(mem, size);
	return NULL;
}

struct pawl_metrics_segment *pawl_metrics_shm_file(const char *path, struct pawl_error *err)
{
	void *mem = NULL;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		pawl_error_set(err, errno == ELOOP ? PAWL_ERR_CONFIG : PAWL_ERR_IO,
		    "metrics_shm_file '%s': %s", path, errno == ELOOP ?
		    "a symbolic link (refused)" : strerror(errno));
		return NULL;
	}
	if (flock(fd, LOCK_EX) != 0)
		pawl_error_set(err, PAWL_ERR_IO, "metrics_shm_file '%s': cannot lock it: %s", path,
		    strerror(errno));
	else
		mem = map_locked(fd, path, err);
	/* Explicitly: the mapping holds the open file, and with it the lock, past close(). */
	flock(fd, LOCK_UN);
	close(fd);
	return mem;
}

void pawl_metrics_shm_unmap(struct pawl_metrics_segment *seg)
{
	if (seg != NULL)
		munmap(seg, pawl_metrics_segment_size());
}

enum pawl_err pawl_metrics_shm_attach(const struct pawl_config *cfg, bool for_children,
    struct pawl_error *err)
{
	struct pawl_metrics_segment *seg;
	bool file = cfg->metrics_shm_file != NULL && cfg->metrics_enabled;

	if (!for_children && !cfg->metrics_enabled) {
		pawl_metrics_bind(NULL, false);
		return PAWL_OK;
	}
	/* A child of the supervisor: the block its parent mapped before forking. */
	if (!for_children && pawl_metrics_bound() != NULL)
		return PAWL_OK;
	seg = file ? pawl_metrics_shm_file(cfg->metrics_shm_file, err) : pawl_metrics_shm_anon(err);
	if (seg == NULL)
		return err->code;
	pawl_metrics_bind(seg, file || for_children);
	return PAWL_OK;
}
