/**
 * The multi-session coordinator through the library, on each database engine: new sessions and
 * the current one per terminal or directory, switching, closing and renaming, foreground and
 * background with the missed output replayed, and the coordinator's settings.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {useTempDir} from '../../test/helpers/cli.ts'
import {DIALECTS, type StoreTarget, storeTarget} from '../../test/helpers/dialects.ts'
import type {SessPlugin} from '../bus/index.ts'
import {ConflictError, InvalidInputError, LimitError, NotFoundError} from '../errors/index.ts'
import {DEFAULT_PLUGINS, openStore, type OpenStoreOptions} from '../store/open-store.ts'
import type {StoredOutputEvent} from '../store/output.ts'

const dir = useTempDir('sess-coordinator-')
const T1 = {terminal: 'env:t1'}
const T2 = {terminal: 'env:t2'}

describe.each(DIALECTS)('on %s', (dialect) => {
  const targets: StoreTarget[] = []
  afterAll(async () => {
    for (const target of targets.splice(0)) await target.remove()
  })

  /** A new store (removed after the suite). */
  async function newTarget(): Promise<StoreTarget> {
    const target = await storeTarget(dialect, 'sess-coordinator-')
    targets.push(target)
    return target
  }

  /** Opens a new store. */
  async function open(options: OpenStoreOptions = {}) {
    return openStore({...(await newTarget()).options, ...options})
  }

  describe('store.newSession', () => {
    it('validates names, generates unique ones from kind and time, and makes the session current and foreground', async () => {
      await using store = await open({now: () => Date.UTC(2026, 10, 21, 14, 32, 10)})
      const a = await store.newSession({here: T1})
      const b = await store.newSession({here: T1})
      expect(a.session.name).toBe('chat-20261121-143210')
      expect(b.session.name).toBe('chat-20261121-143210-2')
      expect(b.session).toMatchObject({mode: 'foreground', owner: {pid: process.pid}, status: 'active'})
      expect(b.previous?.id).toBe(a.session.id)
      expect((await store.get(a.session.id)).mode).toBe('background')
      expect((await store.current(T1)).session.id).toBe(b.session.id)
      for (const name of ['', 'a/b', '-x', 'x'.repeat(65), 'a b']) await expect(store.newSession({here: T1, name})).rejects.toBeInstanceOf(InvalidInputError)
      await expect(store.newSession({here: T1, name: b.session.name})).rejects.toBeInstanceOf(ConflictError)
      const outside = await store.newSession({here: {terminal: null}, kind: 'agent'})
      expect(outside.pointer).toBeNull()
      expect(outside.session.mode).toBe('background')
    })

    it('refuses a session past sessions.maxActive, naming the limit, the count and the fix; resuming counts too', async () => {
      await using store = await open()
      await store.setConfig('sessions.maxActive', '2')
      const a = await store.newSession({here: T1, name: 'a'})
      await store.newSession({here: T1, name: 'b'})
      const refused = await store.newSession({here: T1, name: 'c'}).catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(LimitError)
      expect((refused as LimitError).message).toBe('2 sessions are active, and sessions.maxActive allows 2.')
      expect((refused as LimitError).hint).toMatch(/sess close NAME.*sess config set sessions.maxActive/)
      await expect(store.get('c')).rejects.toBeInstanceOf(NotFoundError)
      await store.closeSession('a')
      await store.newSession({here: T1, name: 'c'})
      await expect(store.switchTo('a', {here: T1})).rejects.toBeInstanceOf(LimitError)
      expect((await store.get(a.session.id)).status).toBe('completed')
      await store.setStatus('c', 'paused')
      expect((await store.switchTo('a', {here: T1})).session.status).toBe('active')
    })
  })

  describe('current session: per terminal, per directory', () => {
    it('resolves this terminal first, then the nearest ancestor directory; nothing gives a clear error', async () => {
      await using store = await open()
      const root = join(dir.path, 'tree')
      const inner = join(root, 'app', 'src')
      mkdirSync(inner, {recursive: true})
      await store.create({name: 'repo'})
      await store.create({name: 'app'})
      await store.create({name: 'mine'})
      const error = await store.current({cwd: inner, terminal: null}).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NotFoundError)
      expect((error as NotFoundError).message).toBe('No current session in this directory.')
      await store.switchTo('repo', {here: {cwd: root, terminal: null}, scope: 'directory'})
      await store.switchTo('app', {here: {cwd: join(root, 'app'), terminal: null}, scope: 'directory'})
      expect((await store.current({cwd: inner, terminal: null})).session.name).toBe('app')
      expect((await store.current({cwd: root, terminal: 'env:other'})).session.name).toBe('repo')
      expect(await store.current({cwd: dir.path, terminal: null}).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError)
      await store.switchTo('mine', {here: {cwd: inner, ...T1}})
      expect(await store.current({cwd: inner, ...T1})).toMatchObject({key: 'env:t1', scope: 'terminal', session: {name: 'mine'}})
      expect((await store.current({cwd: inner, ...T2})).session.name).toBe('app')
      await expect(store.switchTo('mine', {here: {terminal: null}})).rejects.toBeInstanceOf(InvalidInputError)
    })

    it('switch, close and rename: missing and trashed sessions, renaming the current one, dangling pointers', async () => {
      await using store = await open()
      await store.newSession({here: T1, name: 'one'})
      await expect(store.switchTo('nope', {here: T1})).rejects.toBeInstanceOf(NotFoundError)
      await expect(store.closeSession('nope', {here: T1})).rejects.toBeInstanceOf(NotFoundError)
      expect((await store.current(T1)).session.name).toBe('one')
      await store.rename('one', 'uno')
      expect(await store.current(T1)).toMatchObject({session: {name: 'uno'}, sessionName: 'uno'})
      await store.newSession({here: T2, name: 'two'})
      await expect(store.rename('uno', 'two')).rejects.toBeInstanceOf(ConflictError)
      await expect(store.rename('uno', 'no/slash')).rejects.toBeInstanceOf(InvalidInputError)
      await expect(store.rename('nope', 'x')).rejects.toBeInstanceOf(NotFoundError)
      await store.remove('uno')
      await expect(store.switchTo('uno', {here: T1})).rejects.toBeInstanceOf(NotFoundError)
      await expect(store.current(T1)).rejects.toThrow('The current session of this terminal, uno, is in the trash.')
      await store.untrash('uno')
      expect((await store.current(T1)).session.name).toBe('uno')
      await store.remove('uno', {purge: true})
      await expect(store.current(T1)).rejects.toThrow('The current session of this terminal, uno, was deleted.')
      await expect(store.closeSession(undefined, {here: T1})).rejects.toBeInstanceOf(NotFoundError)
      await store.switchTo('two', {here: T1})
      const closed = await store.closeSession(undefined, {here: T1})
      expect(closed).toMatchObject({pointers: 2, releasedLock: false, session: {mode: 'background', name: 'two', status: 'completed'}})
      expect(closed.session.closedAt).not.toBeNull()
      await expect(store.current(T2)).rejects.toThrow('No current session')
      expect((await store.closeSession('two')).session.status).toBe('completed')
    })

    it('close releases the lock this process holds', async () => {
      await using store = await open()
      await store.newSession({here: T1, name: 'locked'})
      const lease = await store.lock('locked')
      expect((await store.closeSession('locked', {here: T1})).releasedLock).toBe(true)
      expect(lease.held).toBe(false)
      expect((await store.locks('locked'))[0]?.held).toBe(false)
    })
  })

  describe('foreground and background', () => {
    const output = (data: string) => ({code: 'o' as const, data, time: 0})

    it('replays on switch exactly the output a session missed in the background, in order', async () => {
      await using store = await open()
      const bus: string[] = []
      await store.newSession({here: T1, name: 'a'})
      await store.appendOutput('a', [output('seen-1 '), output('seen-2 ')])
      await store.newSession({here: T1, name: 'b'})
      await store.appendOutput('a', [output('missed-1 '), {code: 'i', data: 'typed', time: 0}, output('missed-2 ')])
      await store.appendOutput('b', output('b-1 '))
      store.bus.plugin('test').on('session.backgrounded', ({seq, session}) => void bus.push(`bg ${session.name} ${seq}`))
      const seen: StoredOutputEvent[] = []
      const back = await store.switchTo('a', {here: T1, sink: (event) => void seen.push(event)})
      expect(seen.map((e) => [e.seq, e.data])).toEqual([
        [3, 'missed-1 '],
        [5, 'missed-2 '],
      ])
      expect(back.replayed).toEqual({bytes: 18, events: 2})
      expect(back.previous?.name).toBe('b')
      expect(bus).toEqual(['bg b 1'])
      const again: StoredOutputEvent[] = []
      await store.appendOutput('b', output('b-2 '))
      await store.switchTo('b', {here: T1, sink: (event) => void again.push(event)})
      expect(again.map((e) => e.data)).toEqual(['b-2 '])
      const none: StoredOutputEvent[] = []
      await store.switchTo('b', {here: T1, sink: (event) => void none.push(event)})
      expect(none).toEqual([])
    })

    it('a session shown in another terminal stays in the foreground', async () => {
      await using store = await open()
      await store.newSession({here: T1, name: 'shared'})
      await store.switchTo('shared', {here: T2})
      await store.newSession({here: T1, name: 'other'})
      expect((await store.get('shared')).mode).toBe('foreground')
    })

    it('without the replay plugin, switching works and replays nothing', async () => {
      const plugins: SessPlugin[] = DEFAULT_PLUGINS.filter((plugin) => plugin.name !== '@sess/plugin-replay')
      await using store = await open({plugins})
      await store.newSession({here: T1, name: 'a'})
      await store.newSession({here: T1, name: 'b'})
      await store.appendOutput('a', output('missed'))
      const seen: unknown[] = []
      const result = await store.switchTo('a', {here: T1, sink: (event) => void seen.push(event)})
      expect(seen).toEqual([])
      expect(result).toMatchObject({replayed: {bytes: 0, events: 0}, session: {mode: 'foreground', name: 'a'}})
    })
  })

  describe('settings of the coordinator', () => {
    it('pauses sessions idle past sessions.idleTimeout through the state machine, on the injected clock', async () => {
      let now = Date.UTC(2026, 10, 21, 9)
      await using store = await open({now: () => now})
      await store.setConfig('sessions.idleTimeout', '30m')
      const changes: string[] = []
      store.bus.plugin('test').on('session.status_changed', ({from, session, to}) => void changes.push(`${session.name} ${from}→${to}`))
      await store.newSession({here: T1, name: 'idle'})
      await store.newSession({here: T2, name: 'busy'})
      await store.create({name: 'waiting', status: 'waiting_for_input'})
      await store.create({name: 'working', status: 'processing'})
      now += 29 * 60_000
      await store.append('busy', {parts: [{text: 'hi', type: 'text'}], role: 'user', type: 'message'})
      expect(await store.pauseIdle()).toEqual([])
      now += 2 * 60_000
      expect((await store.pauseIdle()).map((s) => s.name).sort()).toEqual(['idle', 'waiting'])
      expect(changes.sort()).toEqual(['idle active→paused', 'waiting waiting_for_input→paused'])
      expect(await store.get('idle')).toMatchObject({lastActivityAt: Date.UTC(2026, 10, 21, 9), status: 'paused'})
      expect((await store.get('working')).status).toBe('processing')
      expect((await store.get('busy')).status).toBe('active')
      now += 60 * 60_000
      expect((await store.switchTo('idle', {here: T1})).session.status).toBe('active')
      expect((await store.get('busy')).status).toBe('paused')
    })

    it('bounds output buffers by sessions.maxBuffer unless SESS_OUTPUT_LIMIT or outputLimit says otherwise', async () => {
      const target = await newTarget()
      {
        await using store = await openStore(target.options)
        await store.setConfig('sessions.maxBuffer', '1KiB')
      }
      await using store = await openStore(target.options)
      const {session} = await store.newSession({here: T1})
      expect((await store.outputStats(session.id)).limit).toBe(1024)
      await using explicit = await openStore({...target.options, outputLimit: 2048})
      expect((await explicit.outputStats(session.id)).limit).toBe(2048)
    })
  })

  describe('dangling pointers', () => {
    it('doctor reports a pointer to a purged session, and --fix removes it', async () => {
      await using store = await open()
      await store.newSession({here: T1, name: 'gone'})
      await store.remove('gone', {purge: true})
      const report = await store.doctor()
      expect(report.findings.map((f) => f.kind)).toContain('dangling-pointer')
      expect((await store.doctor({fix: true})).findings.find((f) => f.kind === 'dangling-pointer')?.fixed).toBe(true)
      expect((await store.doctor()).clean).toBe(true)
      await expect(store.current(T1)).rejects.toThrow('No current session')
    })
  })
})
