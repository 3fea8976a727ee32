/**
 * One of the processes that open a brand-new store at once (`test/bad-input/concurrency.test.ts`):
 * it loads its modules, prints `ready`, and waits for a line on stdin, the start signal the test
 * gives all of them together; then it opens the store at HOME (creating it on first use), saves an
 * original of its own, and prints `saved <session id>`. On any failure it prints `error <code>
 * <message>` and exits 1.
 *
 *   bun test/helpers/open-child.ts HOME N
 *
 * N (a whole number unique among the processes) makes the original and its name distinct.
 */
import {writeSync} from 'node:fs'
import {openStore} from '../../src/index.ts'

const [home, n] = process.argv.slice(2)
if (home === undefined || n === undefined) {
  process.stderr.write('usage: bun test/helpers/open-child.ts HOME N\n')
  process.exit(2)
}
writeSync(1, 'ready\n')
for await (const _ of Bun.stdin.stream()) break
try {
  await using store = await openStore({home})
  const saved = await store.save({bytes: new TextEncoder().encode(`${JSON.stringify({opener: Number(n)})}\n`), format: 'raw', name: `opener-${n}`})
  writeSync(1, `saved ${saved.sessionId}\n`)
} catch (error) {
  writeSync(1, `error ${(error as {code?: string}).code ?? 'none'} ${(error as Error).message}\n`)
  process.exit(1)
}
