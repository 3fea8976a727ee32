/**
 * A child process of the lock contention benchmark (`tasks/bench/lock.ts`): K cycles of lock →
 * read the counter → write it plus one → unlock, on one resource shared with its siblings.
 *
 *   bun tasks/bench/lock-worker.ts sess HOME SESSION_ID K
 *       the counter is the session's transcript: the last `state` record holds it, and each cycle
 *       appends the next one under the lease (with the lease's fencing token, for the parent to check)
 *   bun tasks/bench/lock-worker.ts proper-lockfile FILE K
 *       proper-lockfile's `lock(FILE)` with retries; the counter is the plain file FILE.counter
 *
 * It prints `ready` once started, then waits for its standard input to end before the first cycle,
 * so that the parent times the cycles and not the start of its processes. proper-lockfile is a
 * dev dependency of sess for this benchmark only.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {lock} from 'proper-lockfile'
import {openStore} from '../../src/index.ts'

const [mode, target, ...rest] = process.argv.slice(2)

async function ready(): Promise<void> {
  process.stdout.write('ready\n')
  await Bun.stdin.text()
}

async function sessCycles(home: string, sessionId: string, cycles: number): Promise<void> {
  await using store = await openStore({home})
  await ready()
  for (let i = 0; i < cycles; i++) {
    await using lease = await store.lock(sessionId, {ttl: 30_000, wait: 600_000})
    let n = 0
    for await (const {record} of store.records(sessionId, {last: 1})) if (record.type === 'state') n = Number(record.state.n)
    await store.append(sessionId, {state: {n: n + 1, token: lease.token}, type: 'state'})
  }
}

async function properLockfileCycles(file: string, cycles: number): Promise<void> {
  const counter = `${file}.counter`
  await ready()
  for (let i = 0; i < cycles; i++) {
    const release = await lock(file, {retries: {forever: true, maxTimeout: 10, minTimeout: 1, randomize: true}})
    try {
      const n = Number(readFileSync(counter, 'utf8') || '0')
      writeFileSync(counter, String(n + 1))
    } finally {
      await release()
    }
  }
}

if (mode === 'sess' && target && rest.length === 2) await sessCycles(target, rest[0]!, Number(rest[1]))
else if (mode === 'proper-lockfile' && target && rest.length === 1) await properLockfileCycles(target, Number(rest[0]))
else {
  console.error('usage: lock-worker.ts sess HOME SESSION_ID K | proper-lockfile FILE K')
  process.exit(2)
}
