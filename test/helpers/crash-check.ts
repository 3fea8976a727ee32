/**
 * The checker of the crash-safety runs (`test/crash.test.ts`, and the crash matrix of `bun run
 * stress`): folds what a killed `crash-child.ts` reported as committed into a {@link Reported},
 * and checks a store against it with {@link verifyStore}.
 */
import type {Store} from '../../src/index.ts'
import {
  CRASH_OUTPUT_BATCH,
  CRASH_SESSION,
  CRASH_SNAPSHOTS_KEPT,
  crashOriginal,
  crashOutputEvent,
  crashRecord,
  crashSnapshot,
  sha256Hex,
} from './crash-child.ts'

const PATTERN_ORIGINAL = /^crash-r(\d+)-(\d+)$/

/** What the children reported as committed, over all runs on one store. */
export interface Reported {
  /** Records the transcript must hold (every `ok` and `ready` count, and a checker's own appends). */
  records: number
  /** Saved originals: session id → sha256 and name. */
  saved: Map<string, {sha256: string; name: string}>
  /** Highest original number `n` reported saved, per run. */
  savedN: Map<number, number>
  /** Snapshots: seq → sha256. */
  snapshots: Map<number, string>
  /** Highest snapshot seq reported. */
  lastSnapshot: number
  /** Highest output sequence number reported appended. */
  output: number
  /** Highest fencing token reported granted. */
  lockToken: number
}

/** How far a store has been verified already (so that each kill checks what is new). */
export interface Cursor {
  /** Records 1..records were verified. */
  records: number
  /** Newest snapshot seq seen. */
  snapshots: number
  /** Imported sessions verified (restored and compared). */
  sessions: Set<string>
  /** Output events up to this sequence number were verified. */
  output: number
  /** Highest fencing token seen in the store. */
  lockToken: number
  /** Writes found committed though the kill came before they were reported (the kill hit the write). */
  unreported: {records: number; saves: number; snapshots: number; output: number; grants: number}
}

/** Nothing reported yet. */
export function newReported(): Reported {
  return {lastSnapshot: 0, lockToken: 0, output: 0, records: 0, saved: new Map(), savedN: new Map(), snapshots: new Map()}
}

/** Nothing verified yet. */
export function newCursor(): Cursor {
  return {lockToken: 0, output: 0, records: 0, snapshots: 0, sessions: new Set(), unreported: {grants: 0, output: 0, records: 0, saves: 0, snapshots: 0}}
}

/**
 * Folds the lines a child printed (complete lines only) into `reported`.
 *
 * @param run the child's RUN argument (its originals are numbered per run).
 * @throws an `Error` for a line the child does not print.
 */
export function absorb(reported: Reported, lines: string[], run: number): void {
  for (const line of lines) {
    const [word, a = '', b = '', c = ''] = line.split(' ')
    if (word === 'ready') {
      reported.records = Math.max(reported.records, Number(a))
      reported.output = Math.max(reported.output, Number(b || 0))
    } else if (word === 'ok') reported.records = Math.max(reported.records, Number(a))
    else if (word === 'out') reported.output = Math.max(reported.output, Number(a))
    else if (word === 'locked') reported.lockToken = Math.max(reported.lockToken, Number(a))
    else if (word === 'released') continue
    else if (word === 'saved') {
      reported.saved.set(a, {name: c, sha256: b})
      reported.savedN.set(run, Math.max(reported.savedN.get(run) ?? 0, Number(PATTERN_ORIGINAL.exec(c)?.[2] ?? 0)))
    } else if (word === 'snap') {
      reported.snapshots.set(Number(a), b)
      reported.lastSnapshot = Math.max(reported.lastSnapshot, Number(a))
    } else throw new Error(`The child printed an unexpected line: ${line}`)
  }
}

/**
 * Checks the open `store` against what was reported: everything reported is there, exactly, and
 * nothing else but the one write in flight at the kill — a contiguous transcript of the records
 * written, the right record count, every saved original restorable byte for byte and no session
 * row whose content cannot be read, readable snapshots, an output buffer holding one unbroken
 * newest stretch of the events written within its bound, and a lock whose fencing token never
 * went back. `options.full` checks everything from the start, else only what is new since
 * `cursor`, which advances when there are no problems.
 *
 * @returns the problems found, one line each (empty when all is well).
 */
export async function verifyStore(store: Store, reported: Reported, cursor: Cursor, options: {full: boolean}): Promise<string[]> {
  const problems: string[] = []
  // The transcript: contiguous 1..n, each record the one written for its seq, n within bounds.
  const session = await store.get(CRASH_SESSION)
  const from = options.full ? 0 : cursor.records
  let expected = from === 0 ? 1 : from
  for await (const {record, seq} of store.records(session.id, {after: Math.max(0, from - 1)})) {
    if (seq !== expected) {
      problems.push(seq > expected ? `transcript: gap, seq ${expected}…${seq - 1} missing` : `transcript: seq ${seq} repeated or out of order (expected ${expected})`)
      if (problems.length > 20) break
    } else if (JSON.stringify(record) !== JSON.stringify(crashRecord(seq))) {
      problems.push(`transcript: record ${seq} differs from what was written: ${JSON.stringify(record).slice(0, 120)}`)
    }
    expected = seq + 1
  }
  const count = expected - 1
  if (count < reported.records) problems.push(`transcript: ${count} records, but ${reported.records} were reported committed`)
  if (count > reported.records + 1) problems.push(`transcript: ${count} records, but at most ${reported.records} + 1 in flight can be there`)
  if (session.recordCount !== count) problems.push(`transcript: recordCount is ${session.recordCount}, but it holds ${count} records`)

  // Imported sessions: every reported save is there and restores to its bytes; every imported
  // session (reported or not) restores, to the bytes its name says, and none is a phantom.
  const sessions = await store.list({limit: undefined})
  const listed = new Map(sessions.map((s) => [s.id, s]))
  for (const [id, save] of reported.saved) {
    const found = listed.get(id)
    if (!found) problems.push(`save: session ${id} (${save.name}) was reported saved but is not listed`)
    else if (found.name !== save.name) problems.push(`save: session ${id} is named ${found.name}, not ${save.name}`)
  }
  for (const s of sessions) {
    if (s.versionCount === 0) {
      if (s.name !== CRASH_SESSION) problems.push(`list: unexpected session ${s.name} (${s.id}) without an original`)
      continue
    }
    if (!options.full && cursor.sessions.has(s.id)) continue
    const match = PATTERN_ORIGINAL.exec(s.name)
    if (!match) {
      problems.push(`list: unexpected imported session ${s.name} (${s.id})`)
      continue
    }
    const run = Number(match[1])
    const n = Number(match[2])
    const save = reported.saved.get(s.id)
    if (!save && n !== (reported.savedN.get(run) ?? 0) + 1) {
      problems.push(`save: ${s.name} is there but was neither reported nor the one in flight of run ${run}`)
    }
    let bytes: Uint8Array
    try {
      const restored = await store.restore(s.id)
      bytes = restored.bytes
      if (!restored.original) problems.push(`save: ${s.name} restored as a conversion, not its original`)
    } catch (error) {
      problems.push(`save: ghost: ${s.name} (${s.id}) is listed but cannot be restored: ${(error as Error).message}`)
      continue
    }
    const sha256 = sha256Hex(bytes)
    if (sha256 !== sha256Hex(crashOriginal(run, n))) problems.push(`save: ${s.name} restores to other bytes than were saved`)
    if (save && sha256 !== save.sha256) problems.push(`save: ${s.name} restores to sha256 ${sha256}, reported ${save.sha256}`)
  }

  // Snapshots: the newest is at least the last reported; the kept ones read back intact.
  let latestSeq = 0
  if (reported.lastSnapshot > 0) {
    const latest = await store.latestSnapshot(session.id).catch((error: unknown) => {
      problems.push(`snapshot: none readable, ${reported.lastSnapshot} reported: ${(error as Error).message}`)
      return undefined
    })
    latestSeq = latest?.seq ?? 0
    // At most one more than known: a kill may land after a snapshot's commit and before its report,
    // and then the next run's snapshots follow that unreported one (seen by the last check).
    const known = Math.max(reported.lastSnapshot, cursor.snapshots)
    if (latest && (latest.seq < reported.lastSnapshot || latest.seq > known + 1)) {
      problems.push(`snapshot: newest is ${latest.seq}, reported ${reported.lastSnapshot}${known > reported.lastSnapshot ? ` (${known} seen)` : ''}`)
    }
    for (let seq = Math.max(1, (latest?.seq ?? 0) - CRASH_SNAPSHOTS_KEPT + 1); latest && seq <= latest.seq; seq++) {
      try {
        const {bytes} = await store.latestSnapshot(session.id, seq)
        const state = JSON.parse(new TextDecoder().decode(bytes)) as {run: number; n: number}
        if (JSON.stringify(state) !== JSON.stringify(crashSnapshot(state.run, state.n))) problems.push(`snapshot: ${seq} holds other state than was written`)
        const want = reported.snapshots.get(seq)
        if (want !== undefined && want !== sha256Hex(bytes)) problems.push(`snapshot: ${seq} has sha256 ${sha256Hex(bytes)}, reported ${want}`)
      } catch (error) {
        problems.push(`snapshot: ${seq} (of the ${CRASH_SNAPSHOTS_KEPT} kept) cannot be read: ${(error as Error).message}`)
      }
    }
  }

  // The output buffer: every reported event counted, at most one batch in flight more, and what it
  // holds the newest unbroken stretch, each event the one written for its seq, within the bound.
  const stats = await store.outputStats(session.id)
  if (stats.lastSeq < reported.output) problems.push(`output: last seq ${stats.lastSeq}, but ${reported.output} were reported appended`)
  if (stats.lastSeq > Math.max(reported.output, cursor.output) + CRASH_OUTPUT_BATCH) problems.push(`output: last seq ${stats.lastSeq}, but at most ${reported.output} + ${CRASH_OUTPUT_BATCH} in flight can be there`)
  if (stats.events !== stats.lastSeq - stats.evictedEvents) problems.push(`output: holds ${stats.events} events, but ${stats.lastSeq} were appended and ${stats.evictedEvents} evicted`)
  if (stats.firstSeq !== null && stats.firstSeq !== stats.evictedEvents + 1) problems.push(`output: the oldest event held is ${stats.firstSeq}, but ${stats.evictedEvents} were evicted`)
  if (stats.bytes > stats.limit) problems.push(`output: holds ${stats.bytes} bytes, over its bound of ${stats.limit}`)
  let nextEvent = Math.max(stats.firstSeq ?? 1, options.full ? 0 : cursor.output + 1)
  for await (const event of store.output(session.id, {after: nextEvent - 1})) {
    const want = crashOutputEvent(event.seq)
    if (event.seq !== nextEvent) problems.push(`output: event ${nextEvent} missing (next is ${event.seq})`)
    else if (event.code !== want.code || event.data !== want.data || event.time !== want.time) problems.push(`output: event ${event.seq} differs from what was written`)
    nextEvent = event.seq + 1
    if (problems.length > 20) break
  }
  if (stats.events > 0 && nextEvent <= stats.lastSeq) problems.push(`output: events ${nextEvent}…${stats.lastSeq} missing`)

  // The lock: its fencing token never goes back, and a grant in flight is the only one unreported.
  const [lock] = await store.locks(session.id)
  const token = lock?.token ?? 0
  if (token < Math.max(reported.lockToken, cursor.lockToken)) problems.push(`lock: fencing token ${token}, but ${Math.max(reported.lockToken, cursor.lockToken)} was granted before`)
  if (token > Math.max(reported.lockToken, cursor.lockToken) + 1) problems.push(`lock: fencing token ${token}, but at most ${reported.lockToken} + 1 in flight was granted`)
  if (lock?.held && lock.stale === null) problems.push(`lock: held by ${JSON.stringify(lock.holder)}, which is not provably dead though every holder was killed`)

  if (problems.length === 0) {
    if (count > reported.records && count > cursor.records) cursor.unreported.records++
    for (const s of sessions) {
      if (s.versionCount > 0 && !cursor.sessions.has(s.id) && !reported.saved.has(s.id)) cursor.unreported.saves++
      if (s.versionCount > 0) cursor.sessions.add(s.id)
    }
    if (latestSeq > reported.lastSnapshot && latestSeq > cursor.snapshots) cursor.unreported.snapshots++
    if (stats.lastSeq > reported.output && stats.lastSeq > cursor.output) cursor.unreported.output++
    if (token > reported.lockToken && token > cursor.lockToken) cursor.unreported.grants++
    cursor.records = count
    cursor.snapshots = Math.max(cursor.snapshots, latestSeq)
    cursor.output = Math.max(cursor.output, stats.lastSeq)
    cursor.lockToken = Math.max(cursor.lockToken, token)
  }
  return problems
}
