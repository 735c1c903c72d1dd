/*
 * Where the counters of core/metrics.h live (README, "Metrics"): an
 * anonymous shared mapping the supervisor makes before it forks (its workers
 * and relay inherit it, across respawns and reloads), or the file named by
 * metrics_shm_file, which processes started separately (spawn-fcgi -F,
 * `pawl-fcgi relay`) all map. Without either, a process counts alone.
 */
#ifndef PAWL_METRICS_SHM_H
#define PAWL_METRICS_SHM_H

#include <stdbool.h>

#include "core/config.h"
#include "core/err.h"
#include "core/metrics.h"

/* A zero-filled block shared with every child forked after; NULL (err set) on failure. */
struct pawl_metrics_segment *pawl_metrics_shm_anon(struct pawl_error *err);

/*
 * The block in the file at path, mapped MAP_SHARED. A missing or empty file
 * is created (mode 0600) and initialised under an exclusive flock, so
 * processes starting together initialise it once. Refused (PAWL_ERR_CONFIG,
 * naming the file and why): a symbolic link, not a regular file, a file of
 * another owner, a block of another size or layout (an older pawl's: remove
 * the file while pawl is stopped).
 */
struct pawl_metrics_segment *pawl_metrics_shm_file(const char *path, struct pawl_error *err);

/* Unmaps a block mapped by the two above (the process must not record into it after). */
void pawl_metrics_shm_unmap(struct pawl_metrics_segment *seg);

/*
 * Binds the block this process records into (pawl_metrics_bind), at start.
 * for_children (the supervisor, before forking): metrics_shm_file when set
 * and metrics are on, else an anonymous block; mapped even with metrics off,
 * since a reload may turn them on for the next workers. Otherwise: nothing
 * when metrics are off; the block inherited from the supervisor when there
 * is one; else metrics_shm_file, else a block of this process alone.
 */
enum pawl_err pawl_metrics_shm_attach(const struct pawl_config *cfg, bool for_children,
    struct pawl_error *err);

#endif
