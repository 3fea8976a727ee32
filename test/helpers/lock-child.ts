/**
 * A lock contender for the multi-process lock tests (`test/locks.test.ts`). One process per
 * contender, each with its own store on the shared home (and the database `$SESS_DATABASE_URL`
 * names, if any), as separate applications would have; `$SESS_HOST_ID` makes it a process of
 * another host. It reports on stdout, one line per event, written only after the call it
 * reports resolved.
 *
 *   bun test/helpers/lock-child.ts count HOME SESSION N
 *       N times: lock (waiting), read the counter from the last record, append it + 1 with the
 *       lease's fencing token and this host's identity, release. Prints `done` at the end.
 *   bun test/helpers/lock-child.ts hold HOME SESSION TTL_MS [WAIT_MS]
 *       takes the lock and prints `held <token>` (or `lost <code>` when it cannot); then, for each
 *       line `write` on stdin, appends a record and prints `written <seq>` or `refused <code>`;
 *       releases at end of input.
 *   bun test/helpers/lock-child.ts reclaim HOME SESSION PAUSE_MS
 *       opens the store, prints `ready`, waits for a line on stdin, then tries once (wait 0) to
 *       take the lock, pausing PAUSE_MS between proving the holder dead and taking the lock over.
 *       Prints `won <token>` (and holds the lock until the end of input) or `lost <code>`.
 */
import {writeSync} from 'node:fs'
import {createInterface} from 'node:readline'
import {openStore, type SessError, type SessionRecord, DEFAULT_PLUGINS, type Lease} from '../../src/index.ts'
import {hostId} from '../../src/os/host.ts'

/** The counter as the `count` contenders keep it: the `n` of the last record, and who wrote it under which grant. */
export function counterRecord(n: number, token: number): SessionRecord {
  return {state: {host: hostId(), n, pid: process.pid, token}, type: 'state'}
}

function say(line: string): void {
  writeSync(1, `${line}\n`)
}

async function count(home: string, session: string, rounds: number): Promise<void> {
  await using store = await openStore({home})
  for (let round = 0; round < rounds; round++) {
    await using lease = await store.lock(session, {wait: 300_000})
    let n = 0
    for await (const {record} of store.records(session, {last: 1})) if (record.type === 'state') n = Number(record.state.n)
    await store.append(session, counterRecord(n + 1, lease.token))
  }
  say('done')
}

async function hold(home: string, session: string, ttl: number, wait: number): Promise<void> {
  await using store = await openStore({home})
  let taken: Lease
  try {
    taken = await store.lock(session, {ttl, wait})
  } catch (error) {
    say(`lost ${(error as SessError).code}`)
    return
  }
  await using lease = taken
  say(`held ${lease.token}`)
  for await (const line of createInterface({input: process.stdin})) {
    if (line !== 'write') continue
    try {
      say(`written ${await store.append(session, {name: 'hold', data: {pid: process.pid, token: lease.token}, type: 'event'})}`)
    } catch (error) {
      say(`refused ${(error as SessError).code}`)
    }
  }
}

async function reclaim(home: string, session: string, pause: number): Promise<void> {
  const pauser = {
    name: 'pause-before-takeover',
    register(bus: Parameters<(typeof DEFAULT_PLUGINS)[number]['register']>[0]) {
      // Runs after the locking plugin's check (higher order): the holder is proven dead; wait before the takeover.
      bus.on('lock.checking', async ({dead}) => void (dead !== undefined && (await Bun.sleep(pause))), {order: 100})
    },
  }
  await using store = await openStore({home, plugins: [...DEFAULT_PLUGINS, pauser]})
  const lines = createInterface({input: process.stdin})[Symbol.asyncIterator]()
  say('ready')
  await lines.next()
  try {
    await using lease = await store.lock(session, {wait: 0})
    say(`won ${lease.token}`)
    while (!(await lines.next()).done); // holds it until the end of input
  } catch (error) {
    say(`lost ${(error as SessError).code}`)
  }
}

const [mode, home, session, a, b] = process.argv.slice(2)
if (mode === 'count') await count(home!, session!, Number(a))
else if (mode === 'hold') await hold(home!, session!, Number(a), Number(b ?? 0))
else if (mode === 'reclaim') await reclaim(home!, session!, Number(a))
else throw new Error(`unknown mode ${mode}`)
