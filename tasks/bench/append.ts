/**
 * Benchmarks (a) and (b) of `tasks/bench.ts`: the latency of a durable `store.append`, against a
 * raw append + fdatasync of the same JSON line to a plain file, early and late in one session;
 * and the cost of one more message at N messages, against rewriting the whole JSON transcript
 * file with fsync (what naive agent CLIs do).
 */
import {closeSync, fdatasyncSync, fsyncSync, openSync} from 'node:fs'
import {join} from 'node:path'
import {writeAll} from '../../src/os/write-all.ts'
import type {MessageRecord, Store} from '../../src/index.ts'
import {median, timeMs, timeSyncMs} from './stats.ts'

const encoder = new TextEncoder()
const WORDS = ['the', 'session', 'tool', 'result', 'file', 'read', 'ok', 'diff', 'function', 'error', 'returns', 'test', 'passes', 'line', 'value']

/**
 * Message `i` of a benchmark transcript: deterministic, about 1 KB of JSON (a user prompt or an
 * assistant reply of ~150 words), the typical order of size of an agent transcript's lines.
 */
export function benchMessage(i: number): MessageRecord {
  let state = (i * 2_654_435_761) >>> 0
  const words: string[] = []
  const count = 120 + (i % 60)
  for (let w = 0; w < count; w++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    words.push(WORDS[state % WORDS.length]!)
  }
  return {type: 'message', role: i % 2 === 0 ? 'assistant' : 'user', parts: [{type: 'text', text: `${i}: ${words.join(' ')}`}], ts: 1_760_000_000_000 + i * 1000}
}

/** The JSON line a raw appender writes for message `i`. */
function line(i: number): Uint8Array {
  return encoder.encode(`${JSON.stringify(benchMessage(i))}\n`)
}

/** A plain append-only JSONL file kept open, each line made durable with fdatasync. */
class RawAppender {
  readonly fd: number

  constructor(path: string) {
    this.fd = openSync(path, 'a', 0o600)
  }

  append(bytes: Uint8Array): void {
    writeAll(this.fd, bytes)
    fdatasyncSync(this.fd)
  }

  close(): void {
    closeSync(this.fd)
  }
}

/** Latencies (ms) of the two ways of making one record durable, measured in alternation. */
export interface PairedSamples {
  store: number[]
  raw: number[]
}

/**
 * Appends messages `from`…`from + count - 1` both to the store's session and to the raw file,
 * alternating which goes first, timing each.
 */
async function paired(store: Store, sessionId: string, raw: RawAppender, from: number, count: number, into: PairedSamples): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const record = benchMessage(i)
    const bytes = line(i)
    const timeStore = () => timeMs(() => store.append(sessionId, record))
    const timeRaw = () => timeSyncMs(() => raw.append(bytes))
    if (i % 2 === 0) {
      into.store.push(await timeStore())
      into.raw.push(timeRaw())
    } else {
      into.raw.push(timeRaw())
      into.store.push(await timeStore())
    }
  }
}

/** Results of {@link benchAppend}. */
export interface AppendResult {
  /** Samples around record 10 (records 6–15 of several fresh sessions). */
  early: PairedSamples
  /** Samples around record `late`. */
  lateSamples: PairedSamples
  /** The record number the late samples are centred on. */
  late: number
  /** Amortised ms per `store.append` while filling the session (untimed by the pairs). */
  fillMsPerAppend: number
  /** (b): ms to add one message at ~`late` messages: sess append vs whole-file rewrite + fsync (measured in two blocks). */
  oneMore: {sess: number[]; rewrite: number[]; fileBytes: number}
}

/** Options of {@link benchAppend}. */
export interface AppendOptions {
  /** Fresh sessions measured around record 10. */
  earlySessions: number
  /** Records around which the late samples are centred (10,000). */
  late: number
  /** Paired samples around `late`. */
  lateSamples: number
  /** Rounds of "one more message" for (b). */
  rewriteRounds: number
  progress: (message: string) => void
}

/**
 * Runs (a) and (b) on `store`, whose home is in `dir` (raw files go there too: the same disk).
 */
export async function benchAppend(store: Store, dir: string, options: AppendOptions): Promise<AppendResult> {
  const {progress} = options
  // Warm-up: JIT, statement cache, WAL file.
  {
    const warm = await store.create({kind: 'agent', name: 'bench-warmup'})
    const raw = new RawAppender(join(dir, 'warmup.jsonl'))
    await paired(store, warm.id, raw, 1, 200, {raw: [], store: []})
    raw.close()
  }

  progress(`(a) appends around record 10 in ${options.earlySessions} fresh sessions`)
  const early: PairedSamples = {raw: [], store: []}
  for (let s = 0; s < options.earlySessions; s++) {
    const session = await store.create({kind: 'agent', name: `bench-early-${s}`})
    const raw = new RawAppender(join(dir, `early-${s}.jsonl`))
    for (let i = 1; i <= 5; i++) {
      await store.append(session.id, benchMessage(i))
      raw.append(line(i))
    }
    await paired(store, session.id, raw, 6, 10, early)
    raw.close()
  }

  const half = Math.floor(options.lateSamples / 2)
  const fillTo = options.late - half
  progress(`(a) filling one session to ${fillTo.toLocaleString('en')} records with store.append`)
  const session = await store.create({kind: 'agent', name: 'bench-long'})
  const fillMs = await timeMs(async () => {
    for (let i = 1; i <= fillTo; i++) await store.append(session.id, benchMessage(i))
  })
  const rawPath = join(dir, 'long.jsonl')
  {
    const fd = openSync(rawPath, 'w', 0o600)
    const lines: Uint8Array[] = []
    for (let i = 1; i <= fillTo; i++) lines.push(line(i))
    writeAll(fd, Buffer.concat(lines))
    fsyncSync(fd)
    closeSync(fd)
  }
  progress(`(a) appends around record ${options.late.toLocaleString('en')}`)
  const raw = new RawAppender(rawPath)
  const lateSamples: PairedSamples = {raw: [], store: []}
  await paired(store, session.id, raw, fillTo + 1, options.lateSamples, lateSamples)
  raw.close()

  // (b) One more message at ~late messages. The naive method keeps the transcript in memory and,
  // on each new message, serialises all of it and rewrites the file in place with fsync.
  progress(`(b) one more message at ${options.late.toLocaleString('en')} messages: sess vs whole-file rewrite`)
  const messages = Array.from({length: options.late}, (_, index) => benchMessage(index + 1))
  const naivePath = join(dir, 'naive-transcript.json')
  const rewrite = () => {
    const bytes = encoder.encode(JSON.stringify({messages, sessionId: 'bench'}))
    const fd = openSync(naivePath, 'w', 0o600)
    try {
      writeAll(fd, bytes)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    return bytes.length
  }
  let fileBytes = rewrite()
  const oneMore = {fileBytes, rewrite: [] as number[], sess: [] as number[]}
  // Each method in its own block, after a full GC: rewriting megabytes of JSON leaves garbage whose
  // collection would otherwise land in the next sess call and be charged to it.
  let next = fillTo + options.lateSamples + 1
  Bun.gc(true)
  for (let round = 0; round < options.rewriteRounds * 3; round++) {
    const record = benchMessage(next++)
    messages.push(record)
    oneMore.sess.push(await timeMs(() => store.append(session.id, record)))
  }
  for (let round = 0; round < options.rewriteRounds; round++) {
    const record = benchMessage(next++)
    oneMore.rewrite.push(
      timeSyncMs(() => {
        messages.push(record)
        fileBytes = rewrite()
      }),
    )
  }
  oneMore.fileBytes = fileBytes
  return {early, fillMsPerAppend: fillMs / fillTo, late: options.late, lateSamples, oneMore}
}

/** Median of a paired sample set's store side over its raw side. */
export function medianRatio(samples: PairedSamples): number {
  return median(samples.store) / median(samples.raw)
}
