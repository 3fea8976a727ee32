import {readdirSync, readlinkSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {DIALECTS, type StoreTarget, storedBlobs, storeTarget} from '../../test/helpers/dialects.ts'
import type {AfterEvents} from '../bus/index.ts'
import {ConflictError, InvalidInputError, InvalidTransitionError, NotFoundError, StorageError} from '../errors/index.ts'
import {SESSION_STATUSES, STATUS_TRANSITIONS} from '../session/status.ts'
import type {SessionRecord} from '../session/types.ts'
import {openStore} from './open-store.ts'
import {DEFAULT_OUTPUT_LIMIT, type Store} from './store.ts'

const message = (text: string, role = 'user'): SessionRecord => ({parts: [{text, type: 'text'}], role, type: 'message'})
const encode = (text: string) => new TextEncoder().encode(text)

describe.each(DIALECTS)('on %s', (dialect) => {
  let target: StoreTarget
  let store: Store
  let clock = 1_700_000_000_000

  beforeEach(async () => {
    target = await storeTarget(dialect)
    clock = 1_700_000_000_000
    store = await openStore({...target.options, now: () => clock})
  })

  afterEach(async () => {
    await store.close()
    await target.remove()
  })

  describe('store: sessions', () => {
    it('creates a private home: directory 0700, files 0600', async () => {
      await store.create({name: 'a'})
      expect(statSync(store.home).mode & 0o777).toBe(0o700)
      for (const file of readdirSync(store.home)) {
        const stat = statSync(join(store.home, file))
        if (stat.isFile()) expect([file, stat.mode & 0o777]).toEqual([file, 0o600])
      }
    })

    it('creates sessions with validated, unique names and generated ones', async () => {
      const a = await store.create({kind: 'agent', name: 'alpha', tags: ['x', 'y']})
      expect(a).toMatchObject({kind: 'agent', name: 'alpha', status: 'active', tags: ['x', 'y']})
      expect(a.owner?.pid).toBe(process.pid)
      await expect(store.create({name: 'alpha'})).rejects.toBeInstanceOf(ConflictError)
      for (const bad of ['', '../x', 'a/b', '.hidden', 'a b', 'a\0b', 'x'.repeat(65)]) {
        await expect(store.create({name: bad})).rejects.toBeInstanceOf(InvalidInputError)
      }
      await expect(store.create({name: 'ok', tags: ['bad tag']})).rejects.toBeInstanceOf(InvalidInputError)
      const generated = await store.create({kind: 'chat'})
      const second = await store.create({kind: 'chat'})
      expect(generated.name).toMatch(/^chat-\d{8}-\d{6}$/)
      expect(second.name).toBe(`${generated.name}-2`)
      expect(await store.get(a.id)).toEqual(await store.get('alpha'))
      await expect(store.get('nope')).rejects.toBeInstanceOf(NotFoundError)
    })

    it('lists newest activity first with filters, from the index', async () => {
      for (const [i, name] of ['one', 'two', 'three'].entries()) {
        clock += 1000
        await store.create({kind: i === 1 ? 'agent' : 'chat', name, tags: i === 2 ? ['work'] : []})
      }
      clock += 1000
      await store.setStatus('one', 'paused')
      expect((await store.list()).map((s) => s.name)).toEqual(['one', 'three', 'two'])
      expect((await store.list({kind: ['agent']})).map((s) => s.name)).toEqual(['two'])
      expect((await store.list({tags: ['work']})).map((s) => s.name)).toEqual(['three'])
      expect((await store.list({status: ['paused']})).map((s) => s.name)).toEqual(['one'])
      expect((await store.list({name: 't*'})).map((s) => s.name)).toEqual(['three', 'two'])
      expect((await store.list({name: 'T*'})).map((s) => s.name)).toEqual([])
      expect((await store.list({limit: 1})).map((s) => s.name)).toEqual(['one'])
      expect((await store.list({since: 1_700_000_002_000, until: 1_700_000_003_500})).map((s) => s.name)).toEqual(['three', 'two'])
    })

    it('renames, refusing a taken or invalid name', async () => {
      await store.create({name: 'a'})
      await store.create({name: 'b'})
      expect((await store.rename('a', 'c')).name).toBe('c')
      await expect(store.rename('c', 'b')).rejects.toBeInstanceOf(ConflictError)
      await expect(store.rename('c', '../b')).rejects.toBeInstanceOf(InvalidInputError)
    })
  })

  describe('store: status state machine', () => {
    it('allows exactly the transitions of the state machine, emitting status_changed', async () => {
      const events: AfterEvents['session.status_changed'][] = []
      store.bus.plugin('test').on('session.status_changed', (e) => void events.push(e))
      let n = 0
      for (const from of SESSION_STATUSES) {
        for (const to of SESSION_STATUSES) {
          if (from === to) continue
          const session = await store.create({name: `s${n++}`, status: from})
          if (STATUS_TRANSITIONS[from].includes(to)) {
            const moved = await store.setStatus(session.id, to)
            expect(moved.status).toBe(to)
            expect(moved.closedAt === null).toBe(to !== 'completed' && to !== 'terminated')
            expect(events.at(-1)).toMatchObject({from, to})
          } else {
            await expect(store.setStatus(session.id, to)).rejects.toBeInstanceOf(InvalidTransitionError)
            expect((await store.get(session.id)).status).toBe(from)
          }
        }
      }
      const count = events.length
      await store.setStatus('s0', (await store.get('s0')).status)
      expect(events.length).toBe(count)
    })
  })

  describe('store: transcript, output, snapshots', () => {
    it('appends records in order and streams them back', async () => {
      const s = await store.create({name: 'chat'})
      for (let i = 1; i <= 5; i++) expect(await store.append(s.id, message(`m${i}`))).toBe(i)
      const all = []
      for await (const r of store.records('chat')) all.push(r)
      expect(all.map((r) => [r.seq, (r.record as {parts: {text: string}[]}).parts[0]!.text])).toEqual([
        [1, 'm1'], [2, 'm2'], [3, 'm3'], [4, 'm4'], [5, 'm5'],
      ])
      const last = []
      for await (const r of store.records('chat', {last: 2})) last.push(r.seq)
      expect(last).toEqual([4, 5])
      expect((await store.get('chat')).recordCount).toBe(5)
      await expect(store.append(s.id, {type: 'nonsense'} as never)).rejects.toBeInstanceOf(InvalidInputError)
    })

    it('lets a reader of a long transcript write to the store while it iterates', async () => {
      const a = await store.create({name: 'long'})
      const b = await store.create({name: 'copy'})
      for (let i = 1; i <= 600; i++) await store.append(a.id, message(`m${i}`))
      let copied = 0
      for await (const {record} of store.records(a.id)) {
        await store.append(b.id, record)
        copied++
      }
      expect(copied).toBe(600)
      expect((await store.get('copy')).recordCount).toBe(600)
    })

    it('bounds the output buffer, evicting the oldest whole events', async () => {
      const s = await store.create({kind: 'terminal', name: 'term'})
      const chunk = 'x'.repeat(1024 * 1024)
      for (let i = 0; i < 12; i++) await store.appendOutput(s.id, {code: 'o', data: chunk, time: i})
      const events = []
      for await (const e of store.output(s.id)) events.push(e.time)
      expect(events).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      expect((await store.get(s.id)).outputBytes).toBeLessThanOrEqual(DEFAULT_OUTPUT_LIMIT)
    })

    it('keeps the last N snapshots and deletes the older blobs', async () => {
      const s = await store.create({name: 'app'})
      for (let i = 1; i <= 4; i++) await store.snapshot(s.id, {step: i}, {keep: 2})
      expect(new TextDecoder().decode((await store.latestSnapshot(s.id)).bytes)).toBe('{"step":4}')
      await expect(store.latestSnapshot(s.id, 2)).rejects.toBeInstanceOf(NotFoundError)
      expect(await storedBlobs(target, s.id)).toHaveLength(2)
    })
  })

  describe('store: save, restore, fork, trash', () => {
    const transcript = encode('{"type":"user","uuid":"u1","sessionId":"abc","message":{"role":"user","content":"hello"}}\n')

    it('saves idempotently and restores the original byte for byte', async () => {
      const first = await store.save({bytes: transcript, path: '/x/my-chat.jsonl'})
      expect(first).toMatchObject({created: true, format: 'claude-code', name: 'my-chat', unchanged: false, version: 1})
      const again = await store.save({bytes: transcript, path: '/x/my-chat.jsonl'})
      expect(again).toMatchObject({sessionId: first.sessionId, unchanged: true})
      expect(await store.list()).toHaveLength(1)
      const restored = await store.restore('my-chat')
      expect(restored.original).toBe(true)
      expect(Buffer.from(restored.bytes).equals(Buffer.from(transcript))).toBe(true)
    })

    it('adds versions to an imported session and restores any of them', async () => {
      const first = await store.save({bytes: transcript, name: 'v'})
      const longer = encode(`${new TextDecoder().decode(transcript)}{"type":"assistant","uuid":"u2","parentUuid":"u1","message":{"role":"assistant","content":"hi"}}\n`)
      const second = await store.save({bytes: longer, into: 'v'})
      expect(second).toMatchObject({created: false, sessionId: first.sessionId, version: 2})
      expect((await store.get('v')).recordCount).toBe(second.records)
      expect(Buffer.from((await store.restore('v', {version: 1})).bytes).equals(Buffer.from(transcript))).toBe(true)
      expect((await store.versions('v')).map((v) => v.version)).toEqual([1, 2])
      const native = await store.create({name: 'native'})
      await expect(store.save({bytes: longer, into: native.id})).rejects.toBeInstanceOf(InvalidInputError)
    })

    it('keeps name and tags through a sess JSONL export and re-import', async () => {
      await store.save({bytes: transcript, name: 'kept', tags: ['work', 'q4']})
      const exported = (await store.restore('kept', {format: 'sess'})).bytes
      await store.remove('kept', {purge: true})
      const again = await store.save({bytes: exported})
      expect(again.name).toBe('kept')
      expect((await store.get('kept')).tags).toEqual(['q4', 'work'])
      const clash = await store.save({bytes: exported, into: undefined, tags: ['extra']})
      expect(clash.unchanged).toBe(true)
    })

    it('converts to sess JSONL and back', async () => {
      await store.save({bytes: transcript, name: 'c'})
      const sessJsonl = await store.restore('c', {format: 'sess'})
      expect(sessJsonl.original).toBe(false)
      const reimported = await store.save({bytes: sessJsonl.bytes, name: 'c2'})
      expect(reimported.format).toBe('sess')
      const a = []
      const b = []
      for await (const r of store.records('c')) a.push(r.record)
      for await (const r of store.records('c2')) b.push(r.record)
      expect(b).toEqual(a)
    })

    it('refuses what it cannot read, naming the reason', async () => {
      await expect(store.save({bytes: new Uint8Array()})).rejects.toThrow(/empty/)
      await expect(store.save({allowRaw: false, bytes: encode('{"a":1}\n')})).rejects.toBeInstanceOf(InvalidInputError)
      await expect(store.save({bytes: transcript, format: 'no-such-format'})).rejects.toThrow(/no-such-format/)
      expect(await store.list()).toHaveLength(0)
    })

    it('forks with the parent set and the same content', async () => {
      const saved = await store.save({bytes: transcript, name: 'orig'})
      const fork = await store.fork('orig', 'copy')
      expect(fork).toMatchObject({name: 'copy', parentId: saved.sessionId, status: 'active'})
      expect(Buffer.from((await store.restore('copy')).bytes).equals(Buffer.from(transcript))).toBe(true)
      await expect(store.fork('orig', 'copy')).rejects.toBeInstanceOf(ConflictError)
    })

    it('moves to the trash, brings back, and purges', async () => {
      const saved = await store.save({bytes: transcript, name: 'gone'})
      await store.remove('gone')
      await expect(store.get('gone')).rejects.toBeInstanceOf(NotFoundError)
      expect((await store.list({trashed: true})).map((s) => s.name)).toEqual(['gone'])
      await store.create({name: 'gone'})
      await expect(store.untrash(saved.sessionId)).rejects.toBeInstanceOf(ConflictError)
      await store.remove('gone', {purge: true})
      expect((await store.untrash(saved.sessionId)).name).toBe('gone')
      await store.remove('gone', {purge: true})
      await expect(store.get(saved.sessionId, {includeTrashed: true})).rejects.toBeInstanceOf(NotFoundError)
      expect(await storedBlobs(target, saved.sessionId)).toEqual([])
    })

    it('leaves no file of the store open after close, whether or not it ever took a lock', async () => {
      const openFiles = () =>
        readdirSync('/proc/self/fd').flatMap((fd) => {
          try {
            const target = readlinkSync(`/proc/self/fd/${fd}`)
            return target.startsWith(store.home) ? [target] : []
          } catch {
            return [] // closed while listed
          }
        })
      await store.create({name: 'x'})
      if (dialect === 'sqlite') expect(openFiles().length).toBeGreaterThan(0) // the database files: the probe sees them
      await store.close()
      expect(openFiles()).toEqual([])
      const again = await openStore(target.options)
      await (await again.lock('x')).release()
      await again.close()
      expect(openFiles()).toEqual([])
    })

    it('pins and unpins, in the trash too; a fork is not pinned', async () => {
      await store.save({bytes: transcript, name: 'kept'})
      expect((await store.get('kept')).pinned).toBe(false)
      expect((await store.pin('kept')).pinned).toBe(true)
      expect((await store.fork('kept', 'kept-fork')).pinned).toBe(false)
      await store.remove('kept')
      expect((await store.pin('kept', false)).pinned).toBe(false)
      expect((await store.list({trashed: true})).map((s) => [s.name, s.pinned])).toEqual([['kept', false]])
      await expect(store.pin('nope')).rejects.toBeInstanceOf(NotFoundError)
    })

    it('refuses writes after close', async () => {
      const s = await store.create({name: 'x'})
      await store.close()
      await expect(store.append(s.id, message('late'))).rejects.toBeInstanceOf(StorageError)
    })
  })

  describe('store: list by name glob', () => {
    it('matches character classes and braces exactly, case-sensitively', async () => {
      for (const name of ['fix-a', 'fix-b', 'fix-c', 'Fix-a', 'feat_x', 'featYx']) await store.create({name})
      const names = async (glob: string) => (await store.list({name: glob})).map((s) => s.name).sort()
      expect(await names('fix-[ab]')).toEqual(['fix-a', 'fix-b'])
      expect(await names('{fix,Fix}-a')).toEqual(['Fix-a', 'fix-a'])
      expect(await names('feat_?')).toEqual(['feat_x'])
      expect(await names('*-c')).toEqual(['fix-c'])
      expect(await store.list({limit: 1, name: 'fix-*'})).toHaveLength(1)
    })
  })
})
