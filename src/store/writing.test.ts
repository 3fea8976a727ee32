import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import type {AfterEvents, SessPlugin, WritingPayload} from '../bus/index.ts'
import {InvalidInputError, NotFoundError, VetoError} from '../errors/index.ts'
import type {SessionRecord} from '../session/types.ts'
import {openStore} from './open-store.ts'

const root = mkdtempSync(join(tmpdir(), 'sess-writing-'))
afterAll(() => rmSync(root, {force: true, recursive: true}))
let homes = 0
const newHome = () => join(root, `home-${++homes}`)

const message = (text: string): SessionRecord => ({parts: [{text, type: 'text'}], role: 'user', type: 'message'})
const encode = (text: string) => new TextEncoder().encode(text)
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

/** A plugin whose `records.writing` handler is `handler`, and what the handler was given. */
function writingPlugin(handler: (payload: Readonly<WritingPayload>, veto: (reason: string) => never) => Partial<WritingPayload> | void) {
  const given: Readonly<WritingPayload>[] = []
  const plugin: SessPlugin = {
    name: 'rewriter',
    register(bus) {
      bus.on('records.writing', (payload, context) => {
        given.push(payload)
        return handler(payload, context.veto)
      })
    },
  }
  return {given, plugin}
}

/** Upper-cases whatever is written, and counts one `shout` per write. */
function shout(payload: Readonly<WritingPayload>): Partial<WritingPayload> {
  const upper = (text: string) => text.toUpperCase()
  const redacted = {shout: 1}
  if (payload.records) {
    const records = payload.records.map((record) => (record.type === 'message' ? {...record, parts: record.parts.map((part) => (part.type === 'text' ? {...part, text: upper(part.text)} : part))} : record))
    return {records, redacted}
  }
  if (payload.output) return {output: payload.output.map((event) => ({...event, data: upper(event.data)})), redacted}
  return {redacted, snapshot: encode(upper(decode(payload.snapshot!)))}
}

describe('records.writing', () => {
  it('its handlers see the session by id and every write before it happens, and what they return is what is stored and reported', async () => {
    const {given, plugin} = writingPlugin(shout)
    await using store = await openStore({home: newHome(), plugins: [plugin]})
    const appended: AfterEvents['record.appended'][] = []
    const redacted: AfterEvents['records.redacted'][] = []
    store.bus.plugin('listener').on('record.appended', (payload) => void appended.push(payload))
    store.bus.plugin('listener').on('records.redacted', (payload) => void redacted.push({...payload}))
    const {id} = await store.create({name: 'loud'})

    expect(await store.append('loud', message('hello'))).toBe(1)
    expect(await store.appendOutput(id, [{code: 'o', data: 'out\r\n', time: 0}, {code: 'e', data: 'err', time: 0.5}])).toBe(2)
    expect(await store.snapshot(id, 'state')).toBe(1)

    expect(given.map(({output, records, sessionId, snapshot}) => ({output, records, sessionId, snapshot: snapshot && decode(snapshot)}))).toEqual([
      {output: undefined, records: [message('hello')], sessionId: id, snapshot: undefined},
      {output: [{code: 'o', data: 'out\r\n', time: 0}, {code: 'e', data: 'err', time: 0.5}], records: undefined, sessionId: id, snapshot: undefined},
      {output: undefined, records: undefined, sessionId: id, snapshot: 'state'},
    ])
    const records = []
    for await (const {record} of store.records(id)) records.push(record)
    expect(records).toEqual([message('HELLO')])
    const output = []
    for await (const event of store.output(id)) output.push(event.data)
    expect(output).toEqual(['OUT\r\n', 'ERR'])
    expect(decode((await store.latestSnapshot(id)).bytes)).toBe('STATE')
    expect(appended.map((payload) => payload.record)).toEqual(records)
    expect(redacted).toEqual([
      {kind: 'records', redacted: {shout: 1}, seq: 1, sessionId: id},
      {kind: 'output', redacted: {shout: 1}, seq: 2, sessionId: id},
      {kind: 'snapshot', redacted: {shout: 1}, seq: 1, sessionId: id},
    ])
  })

  it('a veto, or a replacement that is not valid content of the same kind and count, writes nothing', async () => {
    const cases: [string, (payload: Readonly<WritingPayload>, veto: (reason: string) => never) => Partial<WritingPayload> | void, unknown][] = [
      ['a veto', (_, veto) => veto('not today'), VetoError],
      ['an invalid record', (payload) => (payload.records ? {records: [{...payload.records[0]!, type: 'MESSAGE'} as unknown as SessionRecord]} : undefined), InvalidInputError],
      ['one record more', (payload) => (payload.records ? {records: [...payload.records, ...payload.records]} : undefined), InvalidInputError],
      ['no output', (payload) => (payload.output ? {output: []} : undefined), InvalidInputError],
      ['an invalid event', (payload) => (payload.output ? {output: [{code: 'o', data: 42 as unknown as string, time: 0}]} : undefined), InvalidInputError],
      ['a snapshot as text', (payload) => (payload.snapshot ? {snapshot: 'text' as unknown as Uint8Array} : undefined), InvalidInputError],
    ]
    for (const [label, handler, error] of cases) {
      const {plugin} = writingPlugin(handler)
      await using store = await openStore({home: newHome(), plugins: [plugin]})
      const {id} = await store.create({name: 'guarded'})
      const writes = [() => store.append(id, message('hello')), () => store.appendOutput(id, {code: 'o', data: 'out', time: 0}), () => store.snapshot(id, 'state')]
      const outcomes = await Promise.allSettled(writes.map((write) => write()))
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason)
      expect(refused.length, label).toBeGreaterThan(0)
      for (const reason of refused) expect(reason, label).toBeInstanceOf(error)
      if (error === InvalidInputError) expect(refused[0].message, label).toMatch(/^A records.writing handler returned content that cannot be written/)
      // What was refused left nothing behind; the writes the handler let be went through unchanged.
      const session = await store.get(id)
      expect(session.recordCount, label).toBe(outcomes[0]!.status === 'fulfilled' ? 1 : 0)
      expect((await store.outputStats(id)).events, label).toBe(outcomes[1]!.status === 'fulfilled' ? 1 : 0)
      if (outcomes[2]!.status === 'rejected') await expect(store.latestSnapshot(id), label).rejects.toBeInstanceOf(NotFoundError)
    }
  })

  it('a session named that does not exist is not found before any handler runs', async () => {
    const {given, plugin} = writingPlugin(() => undefined)
    await using store = await openStore({home: newHome(), plugins: [plugin]})
    await expect(store.append('nobody', message('hello'))).rejects.toBeInstanceOf(NotFoundError)
    await expect(store.appendOutput('nobody', {code: 'o', data: 'out', time: 0})).rejects.toBeInstanceOf(NotFoundError)
    await expect(store.snapshot('nobody', 'state')).rejects.toBeInstanceOf(NotFoundError)
    expect(given).toEqual([])
  })
})
