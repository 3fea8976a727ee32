import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {tempDir} from '../../../../test/helpers/cli.ts'
import {type AppendOutputOptions, openStore, type OutputEvent, type OutputStats, type Store, type StoredOutputEvent} from '../../../../src/index.ts'
import {type OutputSink, OutputWriter} from './output-writer.ts'
import {sleep} from '../../../../src/os/sleep.ts'

let dir: ReturnType<typeof tempDir>
let store: Store

beforeEach(async () => {
  dir = tempDir()
  store = await openStore({home: join(dir.path, 'store')})
})

afterEach(async () => {
  await store.close()
  dir.remove()
})

/** One call of `appendOutput` as the store saw it. */
interface Call {
  events: OutputEvent[]
  evicted: {events: number; bytes: number} | undefined
  /** The writer's bytes not yet in the store when the call was made. */
  pending: number
}

/**
 * `store`, each append first delayed by `delayMs` (a store that falls behind); every call is
 * recorded, overlapping calls counted, and after each one the buffer is checked to hold a
 * contiguous newest part of the stream: what was evicted is exactly the oldest events.
 */
function slowStore(delayMs: number, writer: () => OutputWriter) {
  const calls: Call[] = []
  const holes: OutputStats[] = []
  let inFlight = 0
  let maxInFlight = 0
  const sink: OutputSink = {
    async appendOutput(ref: string, events: OutputEvent | readonly OutputEvent[], options: AppendOutputOptions = {}) {
      calls.push({events: [...(Array.isArray(events) ? events : [events])], evicted: options.evicted, pending: writer().pendingBytes})
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      try {
        await sleep(delayMs)
        const seq = await store.appendOutput(ref, events, options)
        const stats = await store.outputStats(ref)
        if ((stats.firstSeq ?? stats.lastSeq + 1) !== stats.evictedEvents + 1 || stats.events !== stats.lastSeq - stats.evictedEvents) holes.push(stats)
        return seq
      } finally {
        inFlight -= 1
      }
    },
  }
  return {calls, holes, maxInFlight: () => maxInFlight, sink}
}

async function all(ref: string): Promise<StoredOutputEvent[]> {
  const events: StoredOutputEvent[] = []
  for await (const event of store.output(ref)) events.push(event)
  return events
}

const bytesOf = (events: readonly OutputEvent[]) => events.reduce((sum, event) => sum + Buffer.byteLength(event.data), 0)

describe('OutputWriter', () => {
  it('behind a slow store, holds at most the bound plus one batch, evicts the oldest queued whole events and has the store count them', async () => {
    const limit = 10_000
    const flushBytes = 2_000
    const session = await store.create({kind: 'terminal', name: 'slow'})
    await store.setOutputLimit(session.id, limit)
    let writer!: OutputWriter
    const slow = slowStore(50, () => writer)
    writer = new OutputWriter(slow.sink, session.id, {flushBytes, flushMs: 5, limit})
    // 4000 events of 5–95 bytes (some multi-byte characters), 8 per ms: ~190 KB in ~0.5 s, far more than the store takes.
    const pushed: OutputEvent[] = []
    let peak = 0
    for (let i = 0; i < 4000; i++) {
      const data = `${i}:${'é'.repeat(i % 7)}${'x'.repeat((i * 37) % 80)}\n`
      const event: OutputEvent = {code: i % 5 === 0 ? 'e' : 'o', data, time: i / 1000}
      pushed.push(event)
      writer.push(event.code, event.data, event.time)
      peak = Math.max(peak, writer.pendingBytes)
      if (i % 8 === 7) await sleep(1)
    }
    await writer.close()
    expect(writer.failure).toBeUndefined()
    expect(slow.holes).toEqual([])

    // Memory: the queue never held more than the bound, nor a write more than one batch (flushBytes, the event reaching it included).
    const batch = flushBytes + Math.max(...pushed.map((event) => Buffer.byteLength(event.data))) - 1
    expect(peak).toBeLessThanOrEqual(limit + batch)
    expect(slow.maxInFlight()).toBe(1)
    for (const call of slow.calls) {
      expect(bytesOf(call.events)).toBeLessThanOrEqual(batch)
      expect(call.pending).toBeLessThanOrEqual(limit + batch)
    }
    // The writer did evict (the store was far behind), and told the store exactly what.
    const evictedByWriter = slow.calls.reduce((sum, call) => sum + (call.evicted?.events ?? 0), 0)
    const evictedBytesByWriter = slow.calls.reduce((sum, call) => sum + (call.evicted?.bytes ?? 0), 0)
    const written = slow.calls.flatMap((call) => call.events)
    expect(evictedByWriter).toBeGreaterThan(0)
    expect(written.length + evictedByWriter).toBe(pushed.length)
    expect(bytesOf(written) + evictedBytesByWriter).toBe(bytesOf(pushed))
    // Each call got the next events of the stream in order, after exactly the ones evicted since the last call (oldest first).
    let next = 0
    for (const call of slow.calls) {
      const first = call.events.length > 0 ? Math.round(call.events[0]!.time * 1000) : pushed.length
      const gap = pushed.slice(next, first)
      expect([call.evicted?.events ?? 0, call.evicted?.bytes ?? 0]).toEqual([gap.length, bytesOf(gap)])
      expect(call.events).toEqual(pushed.slice(first, first + call.events.length))
      next = first + call.events.length
    }
    expect(next).toBe(pushed.length)

    // Counters: everything recorded is held or counted as evicted, by the store and by the writer.
    const stats = await store.outputStats(session.id)
    expect([writer.events, writer.bytes]).toEqual([pushed.length, bytesOf(pushed)])
    expect([stats.events + stats.evictedEvents, stats.bytes + stats.evictedBytes]).toEqual([pushed.length, bytesOf(pushed)])
    expect(stats.lastSeq).toBe(pushed.length)
    // The newest events are the ones kept: the longest tail of the stream within the bound, numbered as they came.
    const kept = await all(session.id)
    expect(kept.map(({code, data, time}) => ({code, data, time}))).toEqual(pushed.slice(-kept.length))
    expect(kept.map((event) => event.seq)).toEqual(Array.from({length: kept.length}, (_, i) => pushed.length - kept.length + i + 1))
    expect(stats.bytes).toBe(bytesOf(pushed.slice(-kept.length)))
    expect(stats.bytes).toBeLessThanOrEqual(limit)
    expect(bytesOf(pushed.slice(-kept.length - 1))).toBeGreaterThan(limit)
  })

  it('keeping up with the store: batches of flushMs or flushBytes, nothing evicted before the store', async () => {
    const session = await store.create({kind: 'terminal', name: 'fast'})
    let writer!: OutputWriter
    const spy = slowStore(0, () => writer)
    writer = new OutputWriter(spy.sink, session.id, {flushBytes: 100, flushMs: 20, limit: 1000})
    writer.push('o', 'a', 0)
    writer.push('o', 'b', 0.001)
    expect(spy.calls).toHaveLength(0)
    await sleep(60) // the timer wrote them; flush() waits for that write to end
    await writer.flush()
    expect(spy.calls.map((call) => call.events.map((event) => event.data))).toEqual([['a', 'b']])
    writer.push('o', 'c'.repeat(60), 0.1)
    writer.push('o', 'd'.repeat(60), 0.2) // 120 bytes queued ≥ 100: written at once
    expect(spy.calls).toHaveLength(2)
    await writer.close()
    expect(spy.holes).toEqual([])
    expect(spy.calls.every((call) => call.evicted === undefined)).toBe(true)
    expect((await all(session.id)).map((event) => event.data)).toEqual(['a', 'b', 'c'.repeat(60), 'd'.repeat(60)])
    expect([writer.events, writer.bytes]).toEqual([4, 122])
  })

  it('evicts an event bigger than the bound whole, and tells the store even with nothing else to write', async () => {
    const session = await store.create({kind: 'terminal', name: 'huge'})
    await store.setOutputLimit(session.id, 100)
    const writer = new OutputWriter(store, session.id, {flushMs: 5, limit: 100})
    writer.push('o', 'small', 0)
    writer.push('o', 'y'.repeat(150), 1)
    expect(writer.pendingBytes).toBe(0)
    await writer.close()
    expect(await store.outputStats(session.id)).toMatchObject({bytes: 0, events: 0, evictedBytes: 155, evictedEvents: 2, lastSeq: 2})
    expect([writer.events, writer.bytes]).toEqual([2, 155])
  })

  it('decodes UTF-8 per stream, a character split across reads kept whole', async () => {
    const session = await store.create({kind: 'terminal', name: 'utf8'})
    const writer = new OutputWriter(store, session.id, {limit: 1000})
    const check = Buffer.from('✓')
    writer.bytesOf('o', check.subarray(0, 1))
    writer.bytesOf('e', Buffer.from('err'))
    writer.bytesOf('o', check.subarray(1))
    writer.bytesOf('o', Buffer.from([0xe2]))
    await writer.close()
    expect((await all(session.id)).map((event) => [event.code, event.data])).toEqual([['e', 'err'], ['o', '✓'], ['o', '\ufffd']])
  })

  it('stops recording when the store fails, says so once, and never rejects', async () => {
    const errors: unknown[] = []
    const failing: OutputSink = {appendOutput: () => Promise.reject(new Error('disk full'))}
    const writer = new OutputWriter(failing, 'nobody', {flushMs: 1, limit: 1000, onError: (error) => errors.push(error)})
    writer.push('o', 'lost', 0)
    await writer.flush()
    writer.push('o', 'ignored', 1)
    await writer.close()
    expect(writer.failure?.error).toBe(errors[0])
    expect(errors.map((error) => (error as Error).message)).toEqual(['disk full'])
    expect([writer.events, writer.pendingBytes]).toEqual([0, 0])
    // A store that throws at once, not in a promise, is no different.
    const throwing: OutputSink = {
      appendOutput() {
        throw new Error('closed')
      },
    }
    const closed = new OutputWriter(throwing, 'nobody', {limit: 1000, onError: (error) => errors.push(error)})
    closed.push('o', 'lost', 0)
    await closed.close()
    expect([closed.failure?.error, (errors.at(-1) as Error).message]).toEqual([errors.at(-1), 'closed'])
  })
})
