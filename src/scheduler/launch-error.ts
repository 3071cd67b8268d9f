/**
 * A run that could not start: bad path, failed clone, missing entry, missing interpreter. The
 * message says exactly what failed; the Scheduler stores it as the run's Error log and marks the
 * trigger Failed.
 */
export class LaunchError extends Error {
  override name = 'LaunchError';
}
