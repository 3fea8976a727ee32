import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import type {RedactedPayload} from '../../../src/bus/index.ts'
import {NotFoundError, VetoError} from '../../../src/errors/index.ts'
import type {OutputEvent, SessionRecord} from '../../../src/session/types.ts'
import {openStore} from '../../../src/store/open-store.ts'
import type {Store} from '../../../src/store/store.ts'
import {oneOfEachRule, secretsIn} from './testing.ts'

const root = mkdtempSync(join(tmpdir(), 'sess-redact-writes-'))
afterAll(() => rmSync(root, {force: true, recursive: true}))
let homes = 0
const newHome = () => join(root, `home-${++homes}`)

const SAMPLES = oneOfEachRule(7)
const RULES = SAMPLES.map((sample) => sample.rule)
/** A credential of every rule, one a line, and the same masked. */
const TEXT = SAMPLES.map((sample) => sample.text).join('\n')
const MASKED = SAMPLES.map((sample) => sample.masked).join('\n')
const times = (n: number) => Object.fromEntries(RULES.map((rule) => [rule, n]))

/** Records that hold every credential: in a message's text, in a tool call's args and result, in a tool result. */
function records(text: string): SessionRecord[] {
  return [
    {parts: [{text, type: 'text'}], role: 'user', type: 'message'},
    {args: {command: `cat .env\n${text}`}, callId: 'c1', name: 'shell', result: text, type: 'tool_call'},
    {callId: 'c1', result: {stdout: text}, type: 'tool_result'},
  ]
}

/** Output events with one credential each, as a terminal prints them. */
function output(field: 'text' | 'masked'): OutputEvent[] {
  return SAMPLES.map((sample, index) => ({code: 'o', data: `$ echo\r\n${sample[field]}\r\n`, time: index / 10}))
}

/** Writes every kind of content with every credential to a new session `name`: records (the first by name), output, and two snapshots (a value, a string). */
async function writeEverything(store: Store, name: string) {
  const {id} = await store.create({kind: 'agent', name})
  const seqs = []
  for (const [index, record] of records(TEXT).entries()) seqs.push(await store.append(index === 0 ? name : id, record))
  const plain = await store.append(id, {parts: [{text: 'Nothing secret here.', type: 'text'}], role: 'assistant', type: 'message'})
  const lastOutput = await store.appendOutput(id, output('text'))
  const snapshots = [await store.snapshot(id, {env: TEXT}), await store.snapshot(id, TEXT)]
  return {id, lastOutput, plain, seqs, snapshots}
}

/** What the store holds of session `id`: its records, the data of its output, its two snapshots as text. */
async function stored(store: Store, id: string, snapshots: number[]) {
  const held = {data: [] as string[], records: [] as SessionRecord[], snapshots: [] as string[]}
  for await (const {record} of store.records(id)) held.records.push(record)
  for await (const event of store.output(id)) held.data.push(event.data)
  for (const seq of snapshots) held.snapshots.push(new TextDecoder().decode((await store.latestSnapshot(id, seq)).bytes))
  return held
}

/** The rules whose secret `store.search` finds, as a phrase. */
async function searchable(store: Store): Promise<string[]> {
  const found = []
  for (const sample of SAMPLES) if ((await store.search(`"${sample.secret}"`)).length > 0) found.push(sample.rule)
  return found
}

/** Collects `records.redacted` on `store`'s bus. */
function reports(store: Store): RedactedPayload[] {
  const seen: RedactedPayload[] = []
  store.bus.plugin('test-listener').on('records.redacted', (payload) => void seen.push({...payload}))
  return seen
}

describe('the redact plugin on what the library writes (records, output, snapshots)', () => {
  it('off (by default, or set false): everything is stored as given, and search finds the credentials', async () => {
    const home = newHome()
    await using store = await openStore({home})
    const seen = reports(store)
    const written = await writeEverything(store, 'plain')
    await store.setConfig('redact.enabled', 'false')
    await store.append(written.id, records(TEXT)[0]!)
    const held = await stored(store, written.id, written.snapshots)
    expect(held.records).toEqual([...records(TEXT), expect.objectContaining({role: 'assistant'}), records(TEXT)[0]])
    expect(held.data).toEqual(output('text').map((event) => event.data))
    expect(held.snapshots).toEqual([JSON.stringify({env: TEXT}), TEXT])
    expect(await searchable(store)).toEqual(RULES)
    expect(secretsIn(home, SAMPLES)).toEqual(RULES)
    expect(seen).toEqual([])
  })

  it('on: masks records, output events and snapshots before they are stored, reports counts by write, and leaves no credential in any file', async () => {
    const home = newHome()
    {
      await using store = await openStore({home})
      await store.setConfig('redact.enabled', 'true')
      const seen = reports(store)
      const written = await writeEverything(store, 'masked')
      const held = await stored(store, written.id, written.snapshots)
      expect(held.records).toEqual([...records(MASKED), {parts: [{text: 'Nothing secret here.', type: 'text'}], role: 'assistant', type: 'message'}])
      expect(held.data).toEqual(output('masked').map((event) => event.data))
      expect(held.snapshots).toEqual([JSON.stringify({env: MASKED}), MASKED])
      const {id, seqs, lastOutput, snapshots} = written
      expect(seen).toEqual([
        {kind: 'records', redacted: times(1), seq: seqs[0], sessionId: id},
        {kind: 'records', redacted: times(2), seq: seqs[1], sessionId: id},
        {kind: 'records', redacted: times(1), seq: seqs[2], sessionId: id},
        {kind: 'output', redacted: times(1), seq: lastOutput, sessionId: id},
        {kind: 'snapshot', redacted: times(1), seq: snapshots[0], sessionId: id},
        {kind: 'snapshot', redacted: times(1), seq: snapshots[1], sessionId: id},
      ])
      expect(await searchable(store)).toEqual([])
      expect((await store.search('REDACTED private key')).map((hit) => hit.seq).sort((a, b) => a - b)).toEqual(seqs)
      // While the store is open: the WAL holds the latest commits.
      expect(secretsIn(home, SAMPLES)).toEqual([])
    }
    expect(secretsIn(home, SAMPLES)).toEqual([])
  })

  it('fails closed: a redact.enabled it cannot read vetoes every write, and nothing is written', async () => {
    const home = newHome()
    await using store = await openStore({home})
    const {id} = await store.create({name: 'refused'})
    writeFileSync(join(home, 'config.json'), JSON.stringify({'redact.enabled': 'maybe'}))
    const writes = [() => store.append(id, records(TEXT)[0]!), () => store.appendOutput(id, output('text')), () => store.snapshot(id, TEXT)]
    for (const write of writes) {
      const refused = write()
      await expect(refused).rejects.toBeInstanceOf(VetoError)
      await expect(refused).rejects.toMatchObject({
        message: expect.stringMatching(/^@sess\/plugin-redact refused: it cannot mask credentials \(redact.enabled "maybe" is not a boolean.*\), so nothing was written/),
        plugin: '@sess/plugin-redact',
      })
    }
    expect(await store.get(id)).toMatchObject({outputBytes: 0, recordCount: 0})
    expect((await store.outputStats(id)).lastSeq).toBe(0)
    await expect(store.latestSnapshot(id)).rejects.toBeInstanceOf(NotFoundError)
    expect(secretsIn(home, SAMPLES)).toEqual([])
  })
})
