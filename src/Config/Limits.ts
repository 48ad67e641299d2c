/**
 * Bounds on what a config file may ask of the loader, so that a hostile or broken file (a billion-laughs alias
 * bomb, `--config /dev/zero`, a million keys) costs bounded time and memory and ends as diagnostics. Each is
 * documented in docs/configuration.md ("Limits").
 */

/**
 * Largest config file read: room for 20,000 apps of about 400 bytes each (app_id, name, labels, replicas, status,
 * the cvm attributes, severity, for). Checking costs about 70 bytes of memory per byte of YAML, for a moment.
 */
export const maxConfigBytes = 8 * 1024 * 1024

/** Largest `*_file` secret read (API keys, tokens, webhook URLs are a few hundred bytes). */
export const maxSecretFileBytes = 64 * 1024

/**
 * Nodes that YAML aliases (`*name`) may add to a file once expanded: as many as the file has bytes, at least 10,000
 * and at most 1,000,000. Enough for `cvm: *standard` on each of 20,000 apps; a billion-laughs file needs far more.
 * Tied to the size so that the work after parsing stays proportional to the file, whatever its aliases.
 */
export const aliasNodeBudget = (bytes: number): number => Math.min(1_000_000, Math.max(10_000, bytes))

/** Files up to this size are checked in the main thread (well under a second); larger ones in a worker thread. */
export const inThreadMaxBytes = 64 * 1024

/** Deepest nesting of mappings and lists; the deepest valid key is 5 levels down. */
export const maxNestingDepth = 64

/** Diagnostics reported for one file; the rest are counted ("and N more"). */
export const maxDiagnostics = 100

/**
 * Megabytes of heap the loader's worker thread may use; beyond it the load fails instead of the daemon. A
 * realistic file at the size limit needs about 600; the worst (8 MiB of one-character keys) just fits.
 */
export const loaderHeapMb = 768

export const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes >= 1024 && bytes % 1024 === 0
    ? `${bytes / 1024} KiB`
    : `${bytes} bytes`
