/**
 * The victim of the crash-safety test (`test/crash.test.ts`): opens a store and writes to it in a
 * loop until it is killed with SIGKILL. It prints a line on stdout only AFTER the call it reports
 * has resolved, so every line is a promise the store must keep:
 *
 *   ready <records> <lastSeq>  the store is open; the transcript then had this many records, and
 *                              the output buffer's last sequence number was this
 *   ok <seq>                   record <seq> (see {@link crashRecord}) was appended
 *   saved <id> <sha256> <name> an original (see {@link crashOriginal}) was saved as session <id>
 *   snap <seq> <sha256>        a snapshot (see {@link crashSnapshot}) was taken
 *   out <seq>                  output events up to <seq> (see {@link crashOutputEvent}) were appended
 *   locked <token>             the session's lock was granted with this fencing token
 *   released <token>           that lease was released
 *
 *   bun test/helpers/crash-child.ts HOME MODE RUN [--wait]
 *
 * Every mode writes to one session, {@link CRASH_SESSION}. MODE is `append` (records only),
 * `mixed` (each round: a record, an original, a snapshot), `output` (output events, one to
 * {@link CRASH_OUTPUT_BATCH} per call, into a buffer bounded by {@link CRASH_OUTPUT_LIMIT}) or
 * `lock` (each round: take the session's lock, append a record under it, release it).
 * RUN is a number unique to this process among all runs on HOME: it makes originals distinct.
 * With `--wait` it loads its modules, then waits for a line on stdin before it opens the store
 * (so that the test can start the next child while the current one runs).
 * Lines are written with `writeSync`, so a line is in the pipe before the next call starts.
 */
import {writeSync} from 'node:fs'
import {NotFoundError, openStore} from '../../src/index.ts'
import type {OutputEvent, SessionRecord} from '../../src/index.ts'

/** Name of the session whose transcript every run extends. */
export const CRASH_SESSION = 'crash-transcript'

/** Snapshots kept by the child (`store.snapshot(…, {keep})`). */
export const CRASH_SNAPSHOTS_KEPT = 5

/** Most output events the child appends in one call (`output` mode). */
export const CRASH_OUTPUT_BATCH = 5

/** The output-buffer bound the child gives {@link CRASH_SESSION} when it creates it, in bytes: small, so that appends evict. */
export const CRASH_OUTPUT_LIMIT = 64 * 1024

/** The crash-child modes (see the module comment). */
export const CRASH_MODES = ['append', 'mixed', 'output', 'lock'] as const

/** One of {@link CRASH_MODES}. */
export type CrashMode = (typeof CRASH_MODES)[number]

/** The record with sequence number `seq`: a pure function of `seq`, so a checker can recompute it. */
export function crashRecord(seq: number): SessionRecord {
  const kind = seq % 4
  if (kind === 0) return {type: 'tool_call', name: 'probe', args: {seq, path: `/tmp/f${seq}`}, callId: `c${seq}`, ts: 1_700_000_000_000 + seq}
  if (kind === 1) return {type: 'event', name: 'tick', data: {seq, sqrt: Math.sqrt(seq)}, ts: 1_700_000_000_000 + seq}
  // Mostly small; every 8th is ~5 KB of multi-byte text, more than a 4 KiB database page.
  const text = `record ${seq} ` + 'é∑x'.repeat(seq % 8 === 2 ? 700 + (seq % 97) : (seq * 7919) % 40)
  return {type: 'message', role: kind === 2 ? 'user' : 'assistant', parts: [{type: 'text', text}], ts: 1_700_000_000_000 + seq}
}

/** The output event with sequence number `seq`: a pure function of `seq`, so a checker can recompute it. */
export function crashOutputEvent(seq: number): OutputEvent {
  return {code: seq % 7 === 0 ? 'e' : 'o', data: `out ${seq} ${'ü✓x'.repeat(seq % 300)}\r\n`, time: seq / 100}
}

/** Name of the `n`th original saved by run `run`. */
export function crashOriginalName(run: number, n: number): string {
  return `crash-r${run}-${n}`
}

/** Bytes of the `n`th original saved by run `run` (JSONL, saved as `raw`): distinct per (run, n). */
export function crashOriginal(run: number, n: number): Uint8Array {
  const lines = 1 + ((run * 31 + n * 17) % 40)
  let text = ''
  for (let line = 0; line < lines; line++) text += `${JSON.stringify({run, n, line, pad: 'z'.repeat((n + line * 13) % 300)})}\n`
  return new TextEncoder().encode(text)
}

/** The state snapshotted in round `n` of run `run`. */
export function crashSnapshot(run: number, n: number): {run: number; n: number; blob: string} {
  return {run, n, blob: 'snapshot '.repeat(1 + ((run + n) % 500))}
}

/** SHA-256 of `bytes`, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
}

function say(line: string): void {
  writeSync(1, `${line}\n`)
}

async function main(home: string, mode: CrashMode, run: number): Promise<void> {
  const store = await openStore({home, onPluginError: (failure) => say(`plugin-error ${String(failure.error)}`)})
  const session = await store.get(CRASH_SESSION).catch(async (error: unknown) => {
    if (!(error instanceof NotFoundError)) throw error
    const created = await store.create({name: CRASH_SESSION, kind: 'agent'})
    await store.setOutputLimit(created.id, CRASH_OUTPUT_LIMIT)
    return created
  })
  let seq = session.recordCount
  let outputSeq = (await store.outputStats(session.id)).lastSeq
  say(`ready ${seq} ${outputSeq}`)
  const append = async () => {
    seq += 1
    const got = await store.append(session.id, crashRecord(seq))
    if (got !== seq) {
      say(`error append returned seq ${got}, expected ${seq}`)
      process.exit(1)
    }
    say(`ok ${seq}`)
  }
  for (let n = 1; ; n++) {
    if (mode === 'output') {
      const events = Array.from({length: 1 + (n % CRASH_OUTPUT_BATCH)}, (_, i) => crashOutputEvent(outputSeq + 1 + i))
      const last = await store.appendOutput(session.id, events)
      if (last !== outputSeq + events.length) {
        say(`error appendOutput returned seq ${last}, expected ${outputSeq + events.length}`)
        process.exit(1)
      }
      outputSeq = last
      say(`out ${last}`)
      continue
    }
    if (mode === 'lock') {
      const lease = await store.lock(session.id, {wait: 10_000})
      say(`locked ${lease.token}`)
      await append()
      await lease.release()
      say(`released ${lease.token}`)
      continue
    }
    await append()
    if (mode !== 'mixed') continue
    const bytes = crashOriginal(run, n)
    const saved = await store.save({bytes, format: 'raw', name: crashOriginalName(run, n)})
    say(`saved ${saved.sessionId} ${sha256Hex(bytes)} ${saved.name}`)
    const state = crashSnapshot(run, n)
    const snap = await store.snapshot(session.id, state, {keep: CRASH_SNAPSHOTS_KEPT})
    say(`snap ${snap} ${sha256Hex(new TextEncoder().encode(JSON.stringify(state)))}`)
  }
}

if (import.meta.main) {
  const [home, mode = 'append', run = '0', wait] = process.argv.slice(2)
  if (home === undefined || !(CRASH_MODES as readonly string[]).includes(mode)) {
    process.stderr.write(`usage: bun test/helpers/crash-child.ts HOME ${CRASH_MODES.join('|')} RUN [--wait]\n`)
    process.exit(2)
  }
  if (wait === '--wait') {
    for await (const _ of Bun.stdin.stream()) break
  }
  await main(home, mode as CrashMode, Number(run))
}
