/**
 * (b) The library writing until the disk is full: records (`append`), then output events
 * (`appendOutput`), then snapshots, each until it fails. Each failure is a `DiskFullError` naming
 * the tmpfs; every write that resolved before reads back intact; after space is freed, each kind
 * of write succeeds again, numbered right after the last one kept.
 */
import type {OutputEvent, SessionRecord, Store} from '../../../src/index.ts'
import {type DiskFullScenario, doctorAndFree, libraryDiskFull, withStore} from './scenario.ts'
import {fill} from './tmpfs.ts'

/** Bytes left free before the writes, by round. */
const LEAVE = [64_000, 400_000, 1_000_000]

/** Most writes of one kind before the disk must have filled (a 4 MiB disk takes far fewer). */
const MAX_WRITES = 5_000

/** Record `seq`: about 6 KB, a pure function of `seq`. */
function record(seq: number): SessionRecord {
  return {parts: [{text: `${seq} ${'ñ'.repeat(1_000 + (seq % 7) * 300)}`, type: 'text'}], role: seq % 2 === 0 ? 'assistant' : 'user', type: 'message'}
}

/** Output events `first`… of one call: 20 events of about 1 KB. */
function events(first: number): OutputEvent[] {
  return Array.from({length: 20}, (_, i) => ({code: 'o', data: `${first + i} ${'·'.repeat(500)}\r\n`, time: (first + i) / 10}))
}

/** Snapshot `n`: 64 KB. */
function state(n: number): string {
  return `${n} `.padEnd(65_536, 'σ')
}

export const libraryScenario: DiskFullScenario = async (context) => {
  const {round} = context
  const failures: string[] = []
  const fail = (problem: string) => failures.push(`disk-full library (round ${round}): ${problem}`)
  let faults = 0
  /** Runs `write` until it throws; checks that the failure is the full disk's. @returns how many resolved. */
  const untilFull = async (what: string, write: (n: number) => Promise<unknown>): Promise<number> => {
    for (let n = 0; n < MAX_WRITES; n++) {
      try {
        await write(n)
      } catch (error) {
        faults += 1
        for (const problem of libraryDiskFull(error, context)) fail(`${what} #${n + 1}: ${problem}`)
        return n
      }
    }
    fail(`${what}: ${MAX_WRITES} writes and the disk never filled`)
    return MAX_WRITES
  }
  const written = await withStore(context, async (store) => {
    const session = await store.create({kind: 'agent', name: 'filling'})
    fill(context.disk, LEAVE[round % LEAVE.length]!)
    const records = await untilFull('append', (n) => store.append(session.id, record(n + 1)))
    const calls = await untilFull('appendOutput', (n) => store.appendOutput(session.id, events(n * 20 + 1)))
    const snapshots = await untilFull('snapshot', (n) => store.snapshot(session.id, state(n + 1), {keep: 1_000}))
    for (const problem of await verify(store, session.id, records, calls * 20, snapshots)) fail(`on the full disk: ${problem}`)
    return {calls, id: session.id, records, snapshots}
  })
  for (const problem of doctorAndFree(context)) fail(problem)
  await withStore(context, async (store) => {
    const {calls, id, records, snapshots} = written
    try {
      const seq = await store.append(id, record(records + 1))
      if (seq !== records + 1) fail(`append after freeing space got seq ${seq}, not ${records + 1}`)
      await store.appendOutput(id, events(calls * 20 + 1))
      const snap = await store.snapshot(id, state(snapshots + 1), {keep: 1_000})
      if (snap !== snapshots + 1) fail(`snapshot after freeing space got seq ${snap}, not ${snapshots + 1}`)
    } catch (error) {
      fail(`a write after freeing space failed: ${(error as Error).message}`)
    }
    for (const problem of await verify(store, id, records + 1, (calls + 1) * 20, snapshots + 1)) fail(`after freeing space: ${problem}`)
  })
  return {cases: 3, failures, faults}
}

/**
 * The session holds records 1…`records`, output events 1…`outputEvents` and snapshots
 * 1…`snapshots`, each as written.
 *
 * @returns the problems found.
 */
async function verify(store: Store, id: string, records: number, outputEvents: number, snapshots: number): Promise<string[]> {
  const problems: string[] = []
  let seq = 0
  for await (const stored of store.records(id)) {
    seq += 1
    if (stored.seq !== seq || JSON.stringify(stored.record) !== JSON.stringify(record(seq))) problems.push(`record ${seq} is not the one written`)
  }
  if (seq !== records) problems.push(`${seq} records, ${records} were appended`)
  const stats = await store.outputStats(id)
  if (stats.lastSeq !== outputEvents || stats.evictedEvents !== 0) problems.push(`output: last seq ${stats.lastSeq} (${stats.evictedEvents} evicted), ${outputEvents} were appended`)
  let n = 0
  for await (const event of store.output(id)) {
    const want = events(event.seq - ((event.seq - 1) % 20))[(event.seq - 1) % 20]!
    if (event.seq !== ++n || event.data !== want.data || event.time !== want.time) problems.push(`output event ${event.seq} is not the one written`)
  }
  if (snapshots > 0) {
    const latest = await store.latestSnapshot(id).catch((error: unknown) => error as Error)
    if (latest instanceof Error) problems.push(`the latest snapshot cannot be read: ${latest.message}`)
    else if (latest.seq !== snapshots || new TextDecoder().decode(latest.bytes) !== state(snapshots)) problems.push(`the latest snapshot is ${latest.seq}, not ${snapshots} as written`)
  }
  return problems.slice(0, 10)
}
