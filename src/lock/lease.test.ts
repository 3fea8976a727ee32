/**
 * Session locks through the library (DESIGN §4, §7), on each database engine: grants with rising
 * fencing tokens, waits, expiry and takeover, fencing of every write, leases handed over by token,
 * bus events, and the lock table's states. Two stores opened on the same store in this process
 * stand for two processes; an injected clock makes expiry testable without sleeping.
 */
import pg from 'pg'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {DIALECTS, runSql, type StoreTarget, storeTarget} from '../../test/helpers/dialects.ts'
import type {AfterEvents, LockCheckingPayload} from '../bus/index.ts'
import {InvalidInputError, LockError, NotFoundError} from '../errors/index.ts'
import type {SessionRecord} from '../session/types.ts'
import {openStore, type OpenStoreOptions} from '../store/open-store.ts'
import type {Store} from '../store/store.ts'
import {DEFAULT_LEASE_TTL} from './options.ts'
import {sleep} from '../os/sleep.ts'

const message = (text: string): SessionRecord => ({parts: [{text, type: 'text'}], role: 'user', type: 'message'})
const encode = (text: string) => new TextEncoder().encode(text)

/** What `promise` rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection, but it resolved')
}

describe.each(DIALECTS)('on %s', (dialect) => {
  let target: StoreTarget
  /** The injected clock of every store opened with {@link open} (unless told otherwise); starts at the real time so that real-clock stores agree with it. */
  let clock: number
  let stores: Store[]
  /** Two stores opened on the test's store: two processes, as far as locks are concerned. */
  let a: Store
  let b: Store
  /** Id of session `doc`: imported (so that `save({into})` works), one record. */
  let docId: string

  /** A store opened on the test's store with the injected clock and no write wait, closed after the test. */
  async function open(options: OpenStoreOptions = {}): Promise<Store> {
    const store = await openStore({...target.options, lockWait: 0, now: () => clock, ...options})
    stores.push(store)
    return store
  }

  /** Listens to the lock events of `store`'s bus, in order. */
  function lockEvents(store: Store): {name: string; payload: unknown}[] {
    const events: {name: string; payload: unknown}[] = []
    const bus = store.bus.plugin('test-events')
    bus.on('lock.acquired', (payload) => void events.push({name: 'lock.acquired', payload}))
    bus.on('lock.released', (payload) => void events.push({name: 'lock.released', payload}))
    bus.on('lock.broken', (payload) => void events.push({name: 'lock.broken', payload}))
    return events
  }

  beforeEach(async () => {
    target = await storeTarget(dialect, 'sess-lease-')
    clock = Date.now()
    stores = []
    a = await open()
    b = await open()
    docId = (await a.save({bytes: encode('{"v":1}\n'), name: 'doc', path: 'doc.jsonl'})).sessionId
  })

  afterEach(async () => {
    for (const store of stores.reverse()) await store.close()
    await target.remove()
  })

  describe('store.lock: grants', () => {
    it('grants, releases and grants again with strictly rising fencing tokens', async () => {
      const tokens: number[] = []
      for (const [store, ref] of [
        [a, 'doc'],
        [b, 'doc'],
        [a, docId],
      ] as const) {
        const lease = await store.lock(ref)
        expect(lease).toMatchObject({expiresAt: clock + DEFAULT_LEASE_TTL, held: true, sessionId: docId, ttl: DEFAULT_LEASE_TTL})
        expect(lease.holder.pid).toBe(process.pid)
        expect(lease.tokenString).toMatch(new RegExp(`^${docId}\\.${lease.token}\\.[0-9a-f]{32}$`))
        tokens.push(lease.token)
        expect(await lease.release()).toBe(true)
        expect(lease.held).toBe(false)
      }
      expect(tokens).toEqual([1, 2, 3])
      const secrets = new Set<string>()
      for (let i = 0; i < 3; i++) {
        const lease = await a.lock('doc', {ttl: 100})
        secrets.add(lease.leaseId)
        await lease.release()
      }
      expect(secrets.size).toBe(3)
    })

    it('is not reentrant, and fails another store at once (wait 0) naming the holder', async () => {
      await using lease = await a.lock('doc')
      const again = await rejection(a.lock('doc'))
      expect(again).toBeInstanceOf(LockError)
      expect(again.message).toMatch(/not reentrant/)
      const error = await rejection(b.lock('doc'))
      expect(error).toBeInstanceOf(LockError)
      expect(error).toMatchObject({code: 'E_LOCK', exitCode: 3})
      expect(error.message).toContain(`pid ${process.pid}`)
      expect(error.message).toContain('fencing token 1')
      expect(lease.held).toBe(true)
      expect((await b.locks('doc'))[0]).toMatchObject({held: true, token: 1})
    })

    it('lets a second store wait for the lock and get it once released within its wait', async () => {
      const lease = await a.lock('doc')
      let released = false
      setTimeout(() => void lease.release().then(() => (released = true)), 100)
      const next = await b.lock('doc', {wait: 10_000})
      expect(lease.held).toBe(false)
      expect(next.token).toBe(2)
      expect(await next.release()).toBe(true)
      await sleep(10)
      expect(released).toBe(true)
    })

    it('fails a wait that runs out while the lock is held (real clock)', async () => {
      const real = await open({now: Date.now})
      await using lease = await a.lock('doc')
      const started = performance.now()
      const error = await rejection(real.lock('doc', {wait: 150}))
      expect(error).toBeInstanceOf(LockError)
      expect(error.message).toContain(`pid ${process.pid}`)
      expect(performance.now() - started).toBeGreaterThanOrEqual(100)
      expect(lease.held).toBe(true)
    })

    it('rejects a wait when its signal aborts, and at once when already aborted', async () => {
      await using lease = await a.lock('doc')
      const controller = new AbortController()
      const waiting = b.lock('doc', {signal: controller.signal, wait: 60_000})
      setTimeout(() => controller.abort(new Error('given up waiting')), 50)
      await expect(waiting).rejects.toThrow('given up waiting')
      await expect(b.lock('doc', {signal: AbortSignal.abort(new Error('aborted before'))})).rejects.toThrow('aborted before')
      expect(lease.held).toBe(true)
      expect((await b.locks('doc'))[0]).toMatchObject({held: true, token: 1})
    })

    it('refuses invalid options with InvalidInputError (exit 2)', async () => {
      for (const options of [{ttl: 5}, {ttl: 99}, {ttl: 1_500.5}, {ttl: 86_400_001}, {wait: -1}, {wait: 1.5}, {wait: Number.NaN}]) {
        const error = await rejection(a.lock('doc', options))
        expect([options, error]).toEqual([options, expect.any(InvalidInputError)])
        expect(error).toMatchObject({exitCode: 2})
      }
      await expect(openStore({...target.options, lockWait: -1})).rejects.toBeInstanceOf(InvalidInputError)
      const lease = await a.lock('doc', {ttl: 100})
      await expect(lease.renew(5)).rejects.toBeInstanceOf(InvalidInputError)
      expect(await lease.release()).toBe(true)
      expect((await a.locks('doc'))[0]?.token).toBe(1)
    })

    it('fails with NotFoundError (exit 4) for an unknown or trashed session', async () => {
      await expect(a.lock('nope')).rejects.toMatchObject({exitCode: 4})
      await expect(a.lock('nope')).rejects.toBeInstanceOf(NotFoundError)
      await expect(a.lock('01ARZ3NDEKTSV4RRFFQ69G5FAV')).rejects.toBeInstanceOf(NotFoundError)
      const gone = await a.create({name: 'gone'})
      await a.remove('gone')
      await expect(a.lock('gone')).rejects.toBeInstanceOf(NotFoundError)
      await expect(a.lock(gone.id)).rejects.toBeInstanceOf(NotFoundError)
      // A lock held when the session is trashed does not let it be locked again from the trash.
      const lease = await a.lock('doc')
      await a.remove('doc')
      expect(await lease.release()).toBe(true)
      await expect(b.lock(docId)).rejects.toBeInstanceOf(NotFoundError)
    })

    it('is renewed automatically while held (real clock, ttl 600 ms)', async () => {
      const realA = await open({now: Date.now})
      const realB = await open({now: Date.now})
      const lease = await realA.lock('doc', {ttl: 600})
      const first = lease.expiresAt
      await sleep(1_500)
      expect(lease.held).toBe(true)
      expect(lease.expiresAt).toBeGreaterThan(first)
      await expect(realB.lock('doc')).rejects.toBeInstanceOf(LockError)
      expect(await realA.append('doc', message('still mine'))).toBe(2)
      expect(await lease.release()).toBe(true)
    })
  })

  describe('store.lock: fencing of writes', () => {
    it('lets the holder write, and fails a writer without the lease naming the holder, writing nothing', async () => {
      await using lease = await a.lock('doc')
      // (A new version replaces the transcript and output buffer: saved first.)
      expect((await a.save({bytes: encode('{"v":2}\n'), into: 'doc', path: 'doc.jsonl'})).version).toBe(2)
      expect(await a.append('doc', message('one'))).toBe(2)
      expect(await a.appendOutput('doc', {code: 'o', data: 'out', time: 0})).toBe(1)
      expect(await a.snapshot('doc', {n: 1})).toBe(1)
      expect((await a.setStatus('doc', 'active')).status).toBe('active')
      expect((await a.rename('doc', 'doc2')).name).toBe('doc2')
      expect((await a.rename('doc2', 'doc')).name).toBe('doc')
      const before = await b.get('doc')
      expect(before).toMatchObject({outputBytes: 3, recordCount: 2, status: 'active', versionCount: 2})
      for (const attempt of [() => b.append('doc', message('intruder')), () => b.setStatus('doc', 'paused'), () => b.remove('doc', {purge: true})]) {
        const error = await rejection(attempt())
        expect(error).toBeInstanceOf(LockError)
        expect(error.message).toMatch(/Could not write to session doc: it is locked by pid \d+/)
        expect(error.message).toContain(`pid ${process.pid}`)
      }
      expect(await b.get('doc')).toEqual(before)
      expect(lease.held).toBe(true)
    })

    it('refuses every write of a holder whose expired lease was taken over, writing nothing', async () => {
      // (A TTL long enough that its renewal, on the real clock, does not find the lease lost during the test.)
      const old = await a.lock('doc', {ttl: 60_000})
      await a.snapshot('doc', 'first')
      await a.appendOutput('doc', {code: 'o', data: 'first', time: 0})
      clock += 60_001
      const events = lockEvents(b)
      await using taken = await b.lock('doc')
      expect(taken.token).toBe(2)
      expect(events).toEqual([
        {name: 'lock.broken', payload: {holder: old.holder, reason: expect.stringMatching(/lease expired/), sessionId: docId, token: 1}},
        {name: 'lock.acquired', payload: {holder: taken.holder, sessionId: docId, token: 2}},
      ])
      const before = await b.get('doc')
      const versions = await b.versions('doc')
      const attempts: Record<string, () => Promise<unknown>> = {
        append: () => a.append('doc', message('late')),
        appendOutput: () => a.appendOutput('doc', {code: 'o', data: 'late', time: 1}),
        remove: () => a.remove('doc'),
        'remove --purge': () => a.remove('doc', {purge: true}),
        rename: () => a.rename('doc', 'renamed'),
        'save into': () => a.save({bytes: encode('{"v":3}\n'), into: 'doc', path: 'doc.jsonl'}),
        setStatus: () => a.setStatus('doc', 'active'),
        snapshot: () => a.snapshot('doc', 'late'),
      }
      for (const [what, attempt] of Object.entries(attempts)) {
        const error = await rejection(attempt())
        expect([what, error]).toEqual([what, expect.any(LockError)])
        expect([what, error.message]).toEqual([what, expect.stringMatching(/fencing token 1\) no longer holds its lock: the lock was taken over since \(now fencing token 2, held by pid/)])
        expect([what, error.message]).toEqual([what, expect.stringContaining('Nothing was written')])
      }
      expect(await b.get('doc')).toEqual(before)
      expect(await b.versions('doc')).toEqual(versions)
      expect((await b.latestSnapshot('doc')).seq).toBe(1)
      expect(new TextDecoder().decode((await b.latestSnapshot('doc')).bytes)).toBe('first')
      const output = []
      for await (const event of b.output('doc')) output.push(event.data)
      expect(output).toEqual(['first'])
      // Nor did a refused save leave content behind that no row names.
      expect((await b.doctor()).findings.filter((finding) => finding.kind === 'orphan-content')).toEqual([])
      // The new holder writes; the old lease is known lost once it tries to renew.
      expect(await b.append('doc', message('new holder'))).toBe(2)
      expect(old.held).toBe(true)
      expect(await old.release()).toBe(false)
    })

    it('refuses writes under an expired lease, which blocks no writer without one', async () => {
      const lease = await a.lock('doc', {ttl: 1_000})
      clock += 1_000
      expect(await b.append('doc', message('free to write'))).toBe(2)
      const error = await rejection(a.append('doc', message('too late')))
      expect(error).toBeInstanceOf(LockError)
      expect(error.message).toMatch(/the lease expired .* without renewal/)
      expect((await b.get('doc')).recordCount).toBe(2)
      // Nobody took it over: releasing it still frees the lock.
      expect(await lease.release()).toBe(true)
      expect((await a.locks('doc'))[0]).toMatchObject({held: false, token: 1})
    })

    it('makes a writer without a lease wait (lockWait) and write once the lock is released', async () => {
      const writer = await open({lockWait: 10_000, now: Date.now})
      const lease = await a.lock('doc')
      setTimeout(() => void lease.release(), 100)
      expect(await writer.append('doc', message('after the lock'))).toBe(2)
      expect(lease.held).toBe(false)
      expect((await writer.get('doc')).recordCount).toBe(2)
    })

    it('times out a writer without a lease after lockWait, naming the holder', async () => {
      const writer = await open({lockWait: 150, now: Date.now})
      await using lease = await a.lock('doc')
      const started = performance.now()
      const error = await rejection(writer.append('doc', message('blocked')))
      expect(error).toBeInstanceOf(LockError)
      expect(error).toMatchObject({exitCode: 3})
      expect(error.message).toContain(`Could not write to session doc: it is locked by pid ${process.pid}`)
      expect(performance.now() - started).toBeGreaterThanOrEqual(100)
      expect((await writer.get('doc')).recordCount).toBe(1)
      expect(lease.held).toBe(true)
    })
  })

  // On SQLite a grant needs the one write lock that a write transaction holds, so it waits by construction.
  if (dialect === 'postgres') {
    describe('store.lock beside a write in progress', () => {
      it('takes an expired lock over only once a write that passed its fencing check has committed: the new holder reads what it wrote', async () => {
        await a.lock('doc', {ttl: 1_000})
        // A write of the holder, held up inside its transaction after its fencing check passed (at
        // its insert of the record, by a table lock from outside), while its lease expires.
        const [outside, observer] = [new pg.Client({connectionString: target.databaseUrl}), new pg.Client({connectionString: target.databaseUrl})]
        await Promise.all([outside.connect(), observer.connect()])
        /** How many backends wait for a lock (asked outside any transaction: one sees pg_stat_activity as it was at its start). */
        const waiting = async () => {
          const {rows} = await observer.query(`select cast(count(*) as integer) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)
          return rows[0].n as number
        }
        let looking = true
        let secondWaiter: Promise<string> = Promise.resolve('')
        try {
          await outside.query('begin; lock table records in share mode')
          const appending = a.append('doc', message('under token 1'))
          while ((await waiting()) < 1) await sleep(5)
          clock += 1_001
          const taking = b.lock('doc')
          // The takeover waits for that write: a second backend waits on a lock before the takeover returns.
          secondWaiter = (async () => {
            while (looking) {
              if ((await waiting()) >= 2) return 'waiting'
              await sleep(5)
            }
            return 'stopped'
          })()
          expect(await Promise.race([taking.then(() => 'granted'), secondWaiter])).toBe('waiting')
          looking = false
          await outside.query('commit')
          expect(await appending).toBe(2)
          const lease = await taking
          expect(lease.token).toBe(2)
          const last = []
          for await (const {record} of b.records('doc', {last: 1})) last.push(record)
          expect(last).toEqual([message('under token 1')])
        } finally {
          looking = false
          await secondWaiter.catch(() => undefined)
          await Promise.all([outside.end(), observer.end()])
        }
      })
    })
  }

  describe('Lease: release, scope, close, renewal', () => {
    it('releases idempotently: the second release returns false and emits nothing', async () => {
      const events = lockEvents(a)
      const lease = await a.lock('doc')
      expect(await lease.release()).toBe(true)
      expect(await lease.release()).toBe(false)
      expect(events).toEqual([
        {name: 'lock.acquired', payload: {holder: lease.holder, sessionId: docId, token: 1}},
        {name: 'lock.released', payload: {sessionId: docId, token: 1}},
      ])
      await expect(lease.renew()).rejects.toBeInstanceOf(LockError)
    })

    it('releases at the end of an `await using` scope, also when it throws', async () => {
      {
        await using lease = await a.lock('doc')
        expect(lease.held).toBe(true)
      }
      expect((await b.locks('doc'))[0]).toMatchObject({held: false, token: 1})
      const failing = async () => {
        await using lease = await a.lock('doc')
        expect(lease.token).toBe(2)
        throw new Error('boom')
      }
      await expect(failing()).rejects.toThrow('boom')
      expect((await b.locks('doc'))[0]).toMatchObject({held: false, token: 2})
      await using next = await b.lock('doc')
      expect(next.token).toBe(3)
    })

    it('releases held leases on store.close()', async () => {
      const events = lockEvents(a)
      const lease = await a.lock('doc')
      await a.close()
      expect(lease.held).toBe(false)
      expect(events.map((event) => event.name)).toEqual(['lock.acquired', 'lock.released'])
      await using next = await b.lock('doc')
      expect(next.token).toBe(2)
    })

    it('renews, and once the lease is lost, renew fails with LockError and aborts lease.signal', async () => {
      const lease = await a.lock('doc', {ttl: 1_000})
      clock += 600
      await lease.renew()
      expect(lease.expiresAt).toBe(clock + 1_000)
      clock += 900 // past the first expiry, within the renewed one
      await expect(b.lock('doc')).rejects.toBeInstanceOf(LockError)
      await lease.renew(2_000)
      expect(lease).toMatchObject({expiresAt: clock + 2_000, ttl: 2_000})
      clock += 2_000
      await using taken = await b.lock('doc')
      expect(taken.token).toBe(2)
      expect(lease.signal.aborted).toBe(false)
      const error = await rejection(lease.renew())
      expect(error).toBeInstanceOf(LockError)
      expect(error).toMatchObject({exitCode: 3})
      expect(lease.signal.aborted).toBe(true)
      expect(lease.signal.reason).toBe(error)
      expect(lease.held).toBe(false)
      expect(await lease.release()).toBe(false)
      expect((await b.locks('doc'))[0]).toMatchObject({held: true, token: 2})
    })

    it('takes a lock for another live process with {pid}, and takes it over at once when that process dies', async () => {
      const child = Bun.spawn(['sleep', '30'], {stdio: ['ignore', 'ignore', 'ignore']})
      try {
        const lease = await a.lock('doc', {pid: child.pid})
        expect(lease.holder.pid).toBe(child.pid)
        expect(lease.holder.startTime).not.toBeNull()
        await expect(b.lock('doc')).rejects.toThrow(`pid ${child.pid}`)
        child.kill('SIGKILL')
        await child.exited
        const events = lockEvents(b)
        await using taken = await b.lock('doc')
        expect(taken.token).toBe(2)
        expect(events[0]).toEqual({name: 'lock.broken', payload: {holder: lease.holder, reason: `its holder (pid ${child.pid}) is gone`, sessionId: docId, token: 1}})
      } finally {
        child.kill('SIGKILL')
      }
      await expect(a.lock('doc', {pid: 2 ** 22 + 1})).rejects.toBeInstanceOf(InvalidInputError)
    })
  })

  describe('leases handed over by token', () => {
    it('detach() keeps the lock held; store.lease(token) in another store renews and releases it', async () => {
      const lease = await a.lock('doc', {ttl: 1_000})
      const token = lease.detach()
      expect(token).toBe(lease.tokenString)
      expect(lease.held).toBe(false)
      expect(await lease.release()).toBe(false)
      await a.close()
      const other = await open()
      expect((await other.locks('doc'))[0]).toMatchObject({held: true, token: 1})
      const adopted = await other.lease(token)
      expect(adopted).toMatchObject({expiresAt: clock + 1_000, leaseId: lease.leaseId, sessionId: docId, token: 1, ttl: 1_000})
      // The store that adopted it writes under it; others wait for it.
      expect(await other.append('doc', message('adopted'))).toBe(2)
      await expect(b.append('doc', message('outsider'))).rejects.toBeInstanceOf(LockError)
      clock += 500
      await adopted.renew(2_000)
      expect(adopted.expiresAt).toBe(clock + 2_000)
      clock += 1_500 // past the lease as granted, within the renewal
      expect((await other.locks('doc'))[0]).toMatchObject({expiresAt: clock + 500, held: true, stale: null})
      expect(await adopted.release()).toBe(true)
      expect((await other.locks('doc'))[0]).toMatchObject({held: false, releasedAt: clock, token: 1})
      expect(await b.append('doc', message('free again'))).toBe(3)
    })

    it('store.lease refuses malformed and foreign tokens (InvalidInputError) and lost leases (LockError)', async () => {
      const lease = await a.lock('doc')
      const [sessionId, fencing, secret] = lease.tokenString.split('.') as [string, string, string]
      for (const bad of ['', 'nope', `${sessionId}.1`, `${sessionId}.0.${secret}`, `${sessionId}.1.${secret.toUpperCase()}`, `${lease.tokenString}x`]) {
        const error = await rejection(b.lease(bad))
        expect([bad, error]).toEqual([bad, expect.any(InvalidInputError)])
        expect(error).toMatchObject({exitCode: 2})
      }
      for (const foreign of [`${sessionId}.${fencing}.${'0'.repeat(32)}`, `${sessionId}.9.${secret}`, `01ARZ3NDEKTSV4RRFFQ69G5FAV.1.${secret}`]) {
        const error = await rejection(b.lease(foreign))
        expect([foreign, error]).toEqual([foreign, expect.any(InvalidInputError)])
        expect(error.message).toMatch(/was not granted by this store/)
      }
      expect((await b.lease(` ${lease.tokenString}\n`)).token).toBe(1)
      // Released: LockError. Superseded by a later grant: LockError naming the new token.
      expect(await lease.release()).toBe(true)
      await expect(b.lease(lease.tokenString)).rejects.toThrow(/it was released/)
      const second = await b.lock('doc', {ttl: 1_000})
      const superseded = await rejection(a.lease(lease.tokenString))
      expect(superseded).toBeInstanceOf(LockError)
      expect(superseded.message).toMatch(/granted again since \(now fencing token 2\)/)
      clock += 1_000
      const expired = await rejection(a.lease(second.tokenString))
      expect(expired).toBeInstanceOf(LockError)
      expect(expired.message).toMatch(/expired without renewal/)
    })

    it('openStore({lockTokens}) writes under a lease another store holds, and only while it holds', async () => {
      const lease = await a.lock('doc')
      const helper = await open({lockTokens: [lease.tokenString]})
      expect(await helper.append('doc', message('by token'))).toBe(2)
      await expect(b.append('doc', message('outsider'))).rejects.toBeInstanceOf(LockError)
      expect(await lease.release()).toBe(true)
      const error = await rejection(helper.append('doc', message('after release')))
      expect(error).toBeInstanceOf(LockError)
      expect(error.message).toMatch(/fencing token 1\) no longer holds its lock: .*Nothing was written/)
      expect((await b.get('doc')).recordCount).toBe(2)
      // Taken again by another store meanwhile: still refused, naming the new grant.
      await using next = await b.lock('doc')
      expect(next.token).toBe(2)
      await expect(helper.append('doc', message('after regrant'))).rejects.toThrow(/taken over since \(now fencing token 2, held by pid/)
      expect((await b.get('doc')).recordCount).toBe(2)
    })

    it('says a write under an adopted lease its holder released was refused because the lease was released', async () => {
      // fence.ts leaseLost(): a released row (lease_id null) is caught by the `lease_id !== own.leaseId`
      // branch first, so the message claims the lease is unknown; its 'the lease was released' branch is unreachable.
      const lease = await a.lock('doc')
      const helper = await open({lockTokens: [lease.tokenString]})
      expect(await lease.release()).toBe(true)
      const error = await rejection(helper.append('doc', message('after release')))
      expect(error).toBeInstanceOf(LockError)
      expect(error.message).toMatch(/the lease was released/)
    })

    it('openStore refuses a malformed lockTokens entry with InvalidInputError', async () => {
      const lease = await a.lock('doc')
      for (const tokens of [['garbage'], [lease.tokenString, 'x.1.y'], [`${lease.tokenString},${lease.tokenString}`]]) {
        const error = await rejection(openStore({...target.options, lockTokens: tokens}))
        expect([tokens, error]).toEqual([tokens, expect.any(InvalidInputError)])
        expect(error.message).toMatch(/SESS_LOCK_TOKEN holds/)
      }
      expect(await lease.release()).toBe(true)
    })
  })

  describe('lock events and proof of death', () => {
    it('a lock.checking handler that returns {dead} makes an unexpired lease be taken over at once', async () => {
      const lease = await a.lock('doc')
      const checks: LockCheckingPayload[] = []
      b.bus.plugin('test-oracle').on('lock.checking', (payload) => {
        checks.push({...payload})
        return {dead: 'proven dead by the test'}
      })
      const events = lockEvents(b)
      await using taken = await b.lock('doc')
      expect(taken.token).toBe(2)
      expect(checks).toEqual([{expiresAt: lease.expiresAt, holder: lease.holder, sessionId: docId, token: 1}])
      expect(events).toEqual([
        {name: 'lock.broken', payload: {holder: lease.holder, reason: 'proven dead by the test', sessionId: docId, token: 1}},
        {name: 'lock.acquired', payload: {holder: taken.holder, sessionId: docId, token: 2}},
      ])
      await expect(a.append('doc', message('dead man writing'))).rejects.toBeInstanceOf(LockError)
      expect((await b.locks('doc'))[0]).toMatchObject({stale: 'proven dead by the test', token: 2})
    })

    it('of several stores taking over one expired lock at once, exactly one wins', async () => {
      await a.lock('doc', {ttl: 1_000})
      clock += 1_001
      const contenders = [b, ...(await Promise.all([open(), open(), open()]))]
      const broken = contenders.map(lockEvents)
      const outcomes = await Promise.allSettled(contenders.map((store) => store.lock('doc')))
      const won = outcomes.filter((outcome) => outcome.status === 'fulfilled')
      expect(won).toHaveLength(1)
      expect(won[0]!.value.token).toBe(2)
      for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(LockError)
      expect(broken.flat().filter((event) => event.name === 'lock.broken')).toHaveLength(1)
      expect((await a.locks('doc'))[0]).toMatchObject({held: true, token: 2})
    })

    it('a writer without a lease clears a lock proven dead (token rises) and writes at once', async () => {
      await a.lock('doc')
      const writer = await open()
      writer.bus.plugin('test-oracle').on('lock.checking', () => ({dead: 'holder proven dead'}))
      const broken: AfterEvents['lock.broken'][] = []
      writer.bus.plugin('test-events').on('lock.broken', (payload) => void broken.push(payload))
      expect(await writer.append('doc', message('cleared'))).toBe(2)
      expect(broken).toEqual([expect.objectContaining({reason: 'holder proven dead', sessionId: docId, token: 1})])
      expect((await writer.locks('doc'))[0]).toMatchObject({held: false, token: 2})
      await expect(a.append('doc', message('old holder'))).rejects.toThrow(/taken over since \(now fencing token 2, free\)/)
    })
  })

  describe('store.locks', () => {
    it('shows held, stale and free locks', async () => {
      const other = await a.create({name: 'other'})
      expect(await a.locks()).toEqual([])
      expect(await a.locks('doc')).toEqual([])
      const acquiredAt = clock
      const lease = await a.lock('doc', {ttl: 1_000})
      const held = {
        acquiredAt,
        expiresAt: acquiredAt + 1_000,
        held: true,
        holder: lease.holder,
        name: 'doc',
        releasedAt: null,
        renewedAt: acquiredAt,
        sessionId: docId,
        stale: null,
        token: 1,
        ttl: 1_000,
      }
      expect(await b.locks()).toEqual([held])
      expect(await b.locks(docId)).toEqual([held])
      expect(await b.locks('other')).toEqual([])
      clock += 1_500
      expect(await b.locks()).toEqual([{...held, stale: 'its lease expired 500ms ago'}])
      clock += 1
      expect(await lease.release()).toBe(true)
      expect(await b.locks()).toEqual([])
      expect(await b.locks('doc')).toEqual([{...held, held: false, releasedAt: clock}])
      const second = await b.lock(other.id)
      expect((await a.locks()).map((lock) => [lock.name, lock.token, lock.held])).toEqual([['other', 1, true]])
      await second.release()
      await expect(a.locks('nope')).rejects.toBeInstanceOf(NotFoundError)
    })

    it('purging a session deletes its lock row; a new session starts again at token 1', async () => {
      for (let i = 0; i < 2; i++) await (await a.lock('doc')).release()
      const lease = await a.lock('doc')
      expect(lease.token).toBe(3)
      await a.remove('doc', {purge: true})
      expect(await lease.release()).toBe(false)
      await expect(a.locks('doc')).rejects.toBeInstanceOf(NotFoundError)
      await expect(a.locks(docId)).rejects.toBeInstanceOf(NotFoundError)
      expect(await a.locks()).toEqual([])
      expect(await runSql(target, `select cast(count(*) as integer) as n from locks where session_id = '${docId}'`)).toEqual([{n: 0}])
      const again = await a.create({name: 'doc'})
      await using fresh = await b.lock('doc')
      expect(fresh).toMatchObject({sessionId: again.id, token: 1})
    })
  })
})
