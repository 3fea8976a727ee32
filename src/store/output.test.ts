/**
 * The output buffer of a session (DESIGN §2), on each database engine: batched appends, the bound
 * and what it evicts, following, and replay with timing.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {DIALECTS, type StoreTarget, storeTarget} from '../../test/helpers/dialects.ts'
import {InvalidInputError, NotFoundError} from '../errors/index.ts'
import type {OutputEvent} from '../session/types.ts'
import {sleep} from '../os/sleep.ts'
import {openStore} from './open-store.ts'
import type {StoredOutputEvent} from './output.ts'
import {parseByteSize} from './output-limit.ts'
import type {Store} from './store.ts'

const out = (time: number, data: string): OutputEvent => ({code: 'o', data, time})

async function all(iterator: AsyncIterable<StoredOutputEvent>): Promise<StoredOutputEvent[]> {
  const events: StoredOutputEvent[] = []
  for await (const event of iterator) events.push(event)
  return events
}

describe.each(DIALECTS)('on %s', (dialect) => {
  let target: StoreTarget
  let store: Store

  beforeEach(async () => {
    target = await storeTarget(dialect)
    store = await openStore(target.options)
  })

  afterEach(async () => {
    await store.close()
    await target.remove()
  })

  describe('output buffer: append, bound, eviction', () => {
    it('appends a batch in one call, numbering the events in order', async () => {
      const s = await store.create({kind: 'terminal', name: 'batch'})
      expect(await store.appendOutput(s.id, [out(0, 'a'), out(0.1, 'b'), {code: 'r', data: '100x30', time: 0.2}])).toBe(3)
      expect(await store.appendOutput('batch', out(0.3, 'é'))).toBe(4)
      expect((await all(store.output(s.id))).map((e) => [e.seq, e.code, e.data])).toEqual([
        [1, 'o', 'a'], [2, 'o', 'b'], [3, 'r', '100x30'], [4, 'o', 'é'],
      ])
      expect((await all(store.output('batch', {after: 2}))).map((e) => e.seq)).toEqual([3, 4])
      const stats = await store.outputStats(s.id)
      expect(stats).toMatchObject({bytes: 10, events: 4, evictedBytes: 0, evictedEvents: 0, firstSeq: 1, firstTime: 0, lastSeq: 4, lastTime: 0.3, limit: 10 * 1024 * 1024, limitSource: 'store'})
      await expect(store.appendOutput(s.id, [out(1, 'ok'), {code: 'z', data: '', time: 1} as never])).rejects.toBeInstanceOf(InvalidInputError)
      await expect(store.appendOutput('nobody', out(0, 'x'))).rejects.toBeInstanceOf(NotFoundError)
      expect((await store.outputStats(s.id)).lastSeq).toBe(4) // the invalid batch wrote nothing
      await store.remove(s.id)
      await expect(all(store.output(s.id))).rejects.toBeInstanceOf(NotFoundError)
      expect(await all(store.output(s.id, {follow: true, includeTrashed: true}))).toHaveLength(4) // a trashed session is not followed
    })

    it('keeps the newest whole events within a session bound and counts what it evicted', async () => {
      const s = await store.create({kind: 'terminal', name: 'small'})
      await store.setOutputLimit(s.id, 1000)
      for (let i = 0; i < 50; i++) await store.appendOutput(s.id, [out(i, `${String(i).padStart(2, '0')}${'x'.repeat(98)}`)]) // 100 bytes each
      const kept = await all(store.output(s.id))
      expect(kept.map((e) => e.seq)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50])
      expect(await store.outputStats(s.id)).toMatchObject({bytes: 1000, events: 10, evictedBytes: 4000, evictedEvents: 40, limit: 1000, limitSource: 'session'})
      expect((await store.get(s.id)).outputBytes).toBe(1000)
      // Lowering the bound evicts at once; an event bigger than the bound is evicted whole, and numbering goes on.
      expect(await store.setOutputLimit(s.id, 250)).toMatchObject({bytes: 200, events: 2, evictedEvents: 48})
      expect(await store.appendOutput(s.id, out(60, 'y'.repeat(300)))).toBe(51)
      expect(await store.outputStats(s.id)).toMatchObject({bytes: 0, events: 0, evictedEvents: 51, firstSeq: null, lastSeq: 51})
      expect(await store.appendOutput(s.id, out(61, 'z'))).toBe(52)
      await expect(store.setOutputLimit(s.id, 0)).rejects.toBeInstanceOf(InvalidInputError)
    })

    it('counts events the caller evicted before they reached the store, numbered before the batch, after all it held', async () => {
      const s = await store.create({kind: 'terminal', name: 'dropped'})
      await store.setOutputLimit(s.id, 1000)
      expect(await store.appendOutput(s.id, [out(0, 'a'), out(1, 'bb')])).toBe(2)
      // Three events (30 bytes) dropped by the caller, then two appended: seqs 3–5 are spent, 6–7 kept,
      // and 1–2, older than the dropped ones, are evicted too (oldest first: the buffer stays unbroken).
      expect(await store.appendOutput(s.id, [out(5, 'ccc'), out(6, 'dddd')], {evicted: {bytes: 30, events: 3}})).toBe(7)
      expect((await all(store.output(s.id))).map((e) => [e.seq, e.data])).toEqual([[6, 'ccc'], [7, 'dddd']])
      expect(await store.outputStats(s.id)).toMatchObject({bytes: 7, events: 2, evictedBytes: 33, evictedEvents: 5, firstSeq: 6, lastSeq: 7})
      expect((await store.get(s.id)).outputBytes).toBe(7)
      // Only evictions: everything held goes, the counts and the numbering move on.
      expect(await store.appendOutput(s.id, [], {evicted: {bytes: 2000, events: 1}})).toBe(8)
      expect(await store.outputStats(s.id)).toMatchObject({bytes: 0, events: 0, evictedBytes: 2040, evictedEvents: 8, firstSeq: null, lastSeq: 8})
      // The store's own eviction adds to the same counts: 999 new bytes push out the oldest of the 2 held.
      await store.appendOutput(s.id, [out(8, 'e'), out(8.5, 'f')])
      expect(await store.appendOutput(s.id, out(9, 'g'.repeat(999)))).toBe(11)
      expect(await store.outputStats(s.id)).toMatchObject({bytes: 1000, events: 2, evictedBytes: 2041, evictedEvents: 9, firstSeq: 10, lastSeq: 11})
      // A fresh buffer (no row yet) takes the counts too.
      const fresh = await store.create({name: 'fresh'})
      expect(await store.appendOutput(fresh.id, out(0, 'z'), {evicted: {bytes: 7, events: 2}})).toBe(3)
      expect(await store.outputStats(fresh.id)).toMatchObject({bytes: 1, events: 1, evictedBytes: 7, evictedEvents: 2, firstSeq: 3, lastSeq: 3})
      expect(await store.appendOutput(fresh.id, [], {evicted: {bytes: 0, events: 0}})).toBe(3)
      for (const evicted of [{bytes: 1, events: 0}, {bytes: -1, events: 1}, {bytes: 1, events: 1.5}, null]) {
        await expect(store.appendOutput(fresh.id, out(1, 'y'), {evicted: evicted as never})).rejects.toBeInstanceOf(InvalidInputError)
      }
      expect(await store.outputStats(fresh.id)).toMatchObject({evictedEvents: 2, lastSeq: 3})
    })

    it('starts the buffer afresh when a new version of an imported session is saved', async () => {
      const cast = (text: string) => new TextEncoder().encode(`{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "${text}"]\n[1, "o", "${text}"]\n`)
      const {sessionId} = await store.save({bytes: cast('first'), path: 'demo.cast'})
      await store.setOutputLimit(sessionId, 10)
      await store.appendOutput(sessionId, [out(2, 'later-1'), out(3, 'later-2')])
      expect(await store.outputStats(sessionId)).toMatchObject({evictedEvents: 3, lastSeq: 4, limit: 10})
      await store.save({bytes: cast('second'), into: sessionId, path: 'demo.cast'})
      expect(await store.outputStats(sessionId)).toMatchObject({bytes: 12, evictedBytes: 0, evictedEvents: 0, events: 2, firstSeq: 1, lastSeq: 2, limit: 10})
      expect(await store.appendOutput(sessionId, out(4, 'x'))).toBe(3)
    })

    it('takes the store-wide bound from openStore and SESS_OUTPUT_LIMIT, and a fork keeps the state', async () => {
      const other = await storeTarget(dialect)
      process.env.SESS_OUTPUT_LIMIT = '1KiB'
      try {
        await using bounded = await openStore(other.options)
        const s = await bounded.create({name: 'env'})
        for (let i = 0; i < 20; i++) await bounded.appendOutput(s.id, out(i, 'x'.repeat(100)))
        expect(await bounded.outputStats(s.id)).toMatchObject({events: 10, evictedEvents: 10, limit: 1024})
        const fork = await bounded.fork(s.id, 'env-fork')
        expect(await bounded.outputStats(fork.id)).toMatchObject({events: 10, evictedEvents: 10, lastSeq: 20})
        expect(await bounded.appendOutput(fork.id, out(30, 'y'))).toBe(21)
      } finally {
        delete process.env.SESS_OUTPUT_LIMIT
      }
      try {
        await using explicit = await openStore({...other.options, outputLimit: 300})
        expect((await explicit.outputStats('env')).limit).toBe(300)
        await expect(openStore({...other.options, outputLimit: -1})).rejects.toBeInstanceOf(InvalidInputError)
      } finally {
        await other.remove()
      }
    })
  })

  describe('output buffer: follow and replay', () => {
    it('follows new events until the session completes, for a reader started before and one after the writer', async () => {
      const s = await store.create({kind: 'terminal', name: 'live', status: 'processing'})
      const early = all(store.output(s.id, {follow: true, pollMs: 5}))
      const writer = (async () => {
        for (let i = 1; i <= 30; i++) {
          await store.appendOutput(s.id, out(i / 100, `line ${i}\n`))
          await sleep(2)
        }
      })()
      await sleep(20)
      const late = all(store.output(s.id, {follow: true, pollMs: 5}))
      await writer
      await store.setStatus(s.id, 'completed')
      const expected = Array.from({length: 30}, (_, i) => `line ${i + 1}\n`)
      expect((await early).map((e) => e.data)).toEqual(expected)
      expect((await late).map((e) => e.data)).toEqual(expected)
    })

    it('stops following when aborted', async () => {
      const s = await store.create({name: 'open-ended'})
      await store.appendOutput(s.id, out(0, 'a'))
      const controller = new AbortController()
      const events = all(store.output(s.id, {follow: true, pollMs: 5, signal: controller.signal}))
      setTimeout(() => controller.abort(), 30)
      expect((await events).map((e) => e.data)).toEqual(['a'])
    })

    it('holds the original gaps within a tolerance, and applies speed and the idle limit', async () => {
      const s = await store.create({kind: 'terminal', name: 'timed'})
      const times = [0.1, 0.25, 0.3, 0.6, 0.65]
      await store.appendOutput(s.id, times.map((time, i) => out(time, String(i))))
      const tolerance = 0.04
      const measure = async (options: Parameters<Store['replay']>[2]) => {
        const start = performance.now()
        const seen: number[] = []
        await store.replay(s.id, () => seen.push((performance.now() - start) / 1000), options)
        return seen
      }
      const cases: [Parameters<Store['replay']>[2], number[]][] = [
        [{}, times],
        [{speed: 2}, times.map((t) => t / 2)],
        [{idleLimit: 0.1}, [0.1, 0.2, 0.25, 0.35, 0.4]],
      ]
      for (const [options, expected] of cases) {
        const seen = await measure(options)
        expect(seen).toHaveLength(expected.length)
        // Gaps from the first event: the time to read the first page (a server round trip on PostgreSQL) is not the replay's.
        seen.forEach((t, i) => {
          const gap = t - seen[0]!
          expect(Math.abs(gap - (expected[i]! - expected[0]!)), `event ${i} ${gap.toFixed(3)} s after the first, expected ${(expected[i]! - expected[0]!).toFixed(3)} s (${JSON.stringify(options)})`).toBeLessThan(tolerance)
        })
      }
      const instant = await measure({wait: false})
      expect(instant.at(-1)!).toBeLessThan(0.05)
    })

    it('replays between times and markers', async () => {
      const s = await store.create({kind: 'terminal', name: 'marked'})
      await store.appendOutput(s.id, [out(0, 'a'), {code: 'm', data: 'one', time: 1}, out(2, 'b'), out(3, 'c'), {code: 'm', data: 'two', time: 4}, out(5, 'd')])
      const data = async (options: Parameters<Store['replay']>[2]) => {
        const seen: string[] = []
        await store.replay(s.id, (e) => e.code === 'o' && seen.push(e.data), {...options, wait: false})
        return seen.join('')
      }
      expect(await data({})).toBe('abcd')
      expect(await data({from: 2, to: 3})).toBe('bc')
      expect(await data({from: {marker: 'one'}, to: {marker: 'two'}})).toBe('bc')
      expect(await data({from: {marker: 'two'}})).toBe('d')
      await expect(data({from: {marker: 'three'}})).rejects.toBeInstanceOf(NotFoundError)
      await expect(data({speed: 0})).rejects.toBeInstanceOf(InvalidInputError)
    })
  })
})

describe('parseByteSize', () => {
  it('parses sizes with units', () => {
    expect([parseByteSize('x', '4096'), parseByteSize('x', '1MiB'), parseByteSize('x', '1.5 k'), parseByteSize('x', '2MB')]).toEqual([4096, 1048576, 1536, 2_000_000])
    for (const bad of ['', '0', '-1', '1 parsec', 'MiB']) expect(() => parseByteSize('--buffer-limit', bad)).toThrow(InvalidInputError)
  })
})
