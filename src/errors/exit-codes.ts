/**
 * Process exit codes of every `sess` command (DESIGN §3). Scripts may rely on them.
 *
 * | code | meaning |
 * | ---: | --- |
 * | 0 | success |
 * | 1 | failure, or findings (doctor, gc) |
 * | 2 | bad usage or bad input (nothing was written) |
 * | 3 | a lock was not acquired, or timed out |
 * | 4 | not found (session, version, file) |
 * | 126 | the command to run (`sess lock run`, `sess record`) cannot be executed |
 * | 127 | the command to run was not found (as shells report both) |
 *
 * A command that sess runs passes its own exit status through (128 + n when signal n killed it).
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  lock: 3,
  notFound: 4,
  cannotExecute: 126,
  commandNotFound: 127,
} as const

/** One of the documented exit codes. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]
