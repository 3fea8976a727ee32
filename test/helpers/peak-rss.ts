/**
 * Runs a command and writes its peak resident set size, in bytes, to a file: the measure of a
 * process's own memory that a test cannot take of its own child. On Linux a child's `ru_maxrss`
 * starts at its parent's peak RSS (the high-water mark of the address space it had before exec
 * is kept), so a child of the test runner would report at least the runner's memory (all its
 * worker threads). A child of this small process reports its own, or at most this process's.
 *
 *   bun test/helpers/peak-rss.ts OUT_FILE CMD [ARG…]
 *
 * CMD inherits stdin, stdout, stderr and the environment; the exit status is CMD's (128 + the
 * signal number when a signal killed it).
 */
import {writeFileSync} from 'node:fs'
import {constants} from 'node:os'

const [out, ...command] = process.argv.slice(2)
if (out === undefined || command.length === 0) {
  process.stderr.write('usage: bun test/helpers/peak-rss.ts OUT_FILE CMD [ARG…]\n')
  process.exit(2)
}
const proc = Bun.spawn(command, {env: process.env, stdio: ['inherit', 'inherit', 'inherit']})
await proc.exited
writeFileSync(out, String(proc.resourceUsage()!.maxRSS))
process.exit(proc.signalCode === null ? (proc.exitCode ?? 1) : 128 + (constants.signals[proc.signalCode as NodeJS.Signals] ?? 0))
