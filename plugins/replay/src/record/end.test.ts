import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {tempDir} from '../../../../test/helpers/cli.ts'
import {DiskFullError, openStore, type Store, type StoredOutputEvent} from '../../../../src/index.ts'
import {type EndSink, endRecording, RECORDING_STOPPED} from './end.ts'
import {OutputWriter} from './output-writer.ts'

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

/** The disk-full error a full store throws (as `diskFullError` makes it). */
const full = () => new DiskFullError({free: '0 B', freeBytes: 0, mountPoint: '/mnt/small', path: '/mnt/small/store', quota: false})

/** `store`, with the calls named in `failing` throwing a disk-full error (a store whose disk filled up), the others passed through. */
function failingStore(failing: ReadonlySet<keyof EndSink>): EndSink {
  const fail = (name: keyof EndSink) => failing.has(name)
  return {
    append: (ref, record) => (fail('append') ? Promise.reject(full()) : store.append(ref, record)),
    appendOutput: (ref, events, options) => (fail('appendOutput') ? Promise.reject(full()) : store.appendOutput(ref, events, options)),
    setStatus: (ref, status) => (fail('setStatus') ? Promise.reject(full()) : store.setStatus(ref, status)),
  }
}

async function output(ref: string): Promise<StoredOutputEvent[]> {
  const events: StoredOutputEvent[] = []
  for await (const event of store.output(ref)) events.push(event)
  return events
}

describe('endRecording', () => {
  it('after the store failed mid-recording: the buffer ends with a marker and the exit status, the transcript says why, the status is set', async () => {
    const session = await store.create({kind: 'terminal', name: 'stopped', status: 'processing'})
    let failing = false
    const writer = new OutputWriter(
      {appendOutput: (ref, events, options) => (failing ? Promise.reject(full()) : store.appendOutput(ref, events, options))},
      session.id,
      {limit: 1_000_000},
    )
    writer.push('o', 'kept\r\n', 0.5)
    await writer.flush()
    failing = true
    writer.push('o', 'lost\r\n', 1)
    await writer.flush()
    writer.push('o', 'ignored after the failure\r\n', 2)
    expect(writer.failure?.error).toBeInstanceOf(DiskFullError)
    failing = false // the disk has room again for the few bytes of the end, as a failed batch leaves it

    const end = await endRecording(store, session.id, writer, {exitCode: 7, signal: null})
    expect(end).toMatchObject({status: 'completed', unwritten: []})
    expect(end.stopped?.time).toBe(writer.failure?.time)
    const events = await output(session.id)
    expect(events.map((event) => [event.code, event.data])).toEqual([
      ['o', 'kept\r\n'],
      ['m', `recording stopped: ${full().message}`],
      ['x', '7'],
    ])
    expect(events[1]!.time).toBe(end.stopped!.time)
    const records = []
    for await (const {record} of store.records(session.id)) records.push(record)
    expect(records).toEqual([{data: {bytes: 6, events: 1, reason: full().message, time: end.stopped!.time}, name: RECORDING_STOPPED, type: 'event'}])
    expect((await store.get(session.id)).status).toBe('completed')
  })

  it('a recording the store kept up with ends with the exit status only, and terminated when a signal killed the command', async () => {
    const session = await store.create({kind: 'terminal', name: 'whole', status: 'processing'})
    const writer = new OutputWriter(store, session.id, {limit: 1_000_000})
    writer.push('o', 'all of it\r\n', 0.5)
    const end = await endRecording(store, session.id, writer, {exitCode: 130, signal: 'SIGINT'})
    expect(end).toEqual({status: 'terminated', stopped: undefined, unwritten: []})
    expect((await output(session.id)).map((event) => [event.code, event.data])).toEqual([
      ['o', 'all of it\r\n'],
      ['x', '130'],
    ])
    expect((await store.get(session.id)).recordCount).toBe(0)
    expect((await store.get(session.id)).status).toBe('terminated')
  })

  it('never throws: every write of the end is tried, and those that fail are returned', async () => {
    const session = await store.create({kind: 'terminal', name: 'unwritable', status: 'processing'})
    const sink = failingStore(new Set(['append', 'appendOutput', 'setStatus']))
    const writer = new OutputWriter(sink, session.id, {limit: 1_000_000})
    writer.push('o', 'lost\r\n', 0.5)
    const end = await endRecording(sink, session.id, writer, {exitCode: 3, signal: null})
    // The x event failed in the writer, so the end wrote as for a recording that stopped: and failed at each step.
    expect(end.stopped?.error).toBeInstanceOf(DiskFullError)
    expect(end.unwritten.map((u) => u.what)).toEqual(['its output', 'its transcript', 'its status'])
    expect(end.unwritten.every((u) => u.error instanceof DiskFullError)).toBe(true)
    expect(await store.get(session.id)).toMatchObject({outputBytes: 0, recordCount: 0, status: 'processing'})

    // Only the output buffer failing: the transcript and the status still say what happened.
    const other = await store.create({kind: 'terminal', name: 'partly', status: 'processing'})
    const partly = failingStore(new Set(['appendOutput']))
    const end2 = await endRecording(partly, other.id, new OutputWriter(partly, other.id, {limit: 1_000_000}), {exitCode: 0, signal: null})
    expect(end2.unwritten.map((u) => u.what)).toEqual(['its output'])
    expect(await store.get(other.id)).toMatchObject({recordCount: 1, status: 'completed'})
  })
})
