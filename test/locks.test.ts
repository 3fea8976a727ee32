/**
 * Session locks across real processes (DESIGN §7, §8), on each database engine: no lost updates
 * under contention from processes of two hosts, fencing tokens that refuse a paused holder's late
 * writes, dead holders taken over at once on their own host and only after their lease expires
 * from another, and race-free takeover. The contenders are `test/helpers/lock-child.ts`
 * processes; `$SESS_HOST_ID` gives each the host it runs on.
 */
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {type DoctorReport, LockError, openStore, type SessionRecord} from '../src/index.ts'
import {HOST_ID_ENV} from '../src/os/host.ts'
import {REPO, sessJson} from './helpers/cli.ts'
import {DIALECTS, runSql, type StoreTarget, storeTarget} from './helpers/dialects.ts'

const CHILD = join(REPO, 'test', 'helpers', 'lock-child.ts')
const OWNER_CHILD = join(REPO, 'test', 'helpers', 'owner-child.ts')

/** Processes × rounds of the counter test: fewer on PostgreSQL, where each round costs a dozen round trips to the server. */
const COUNTER = {postgres: {processes: 8, rounds: 25}, sqlite: {processes: 32, rounds: 100}} as const

/** A contender process on `target`'s store (on `host`, else this one): `args` are its mode and that mode's arguments after HOME. Its stdout is read line by line. */
function contender(target: StoreTarget, args: string[], host?: string) {
  const env = {...process.env, ...target.env, ...(host === undefined ? {} : {[HOST_ID_ENV]: host})}
  const child = Bun.spawn([process.execPath, CHILD, args[0]!, target.home, ...args.slice(1)], {env, stderr: 'pipe', stdin: 'pipe', stdout: 'pipe'})
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ''
  return {
    child,
    /** The next line it prints (rejects if it exits first). */
    async line(): Promise<string> {
      for (;;) {
        const end = buffered.indexOf('\n')
        if (end !== -1) {
          const line = buffered.slice(0, end)
          buffered = buffered.slice(end + 1)
          return line
        }
        const {done, value} = await reader.read()
        if (done) throw new Error(`contender exited (${await child.exited}) without a line: ${await new Response(child.stderr).text()}`)
        buffered += value
      }
    },
    send(line: string): void {
      child.stdin.write(`${line}\n`)
      child.stdin.flush()
    },
  }
}

describe.each(DIALECTS)('on %s', (dialect) => {
  const targets: StoreTarget[] = []
  afterAll(async () => {
    for (const target of targets.splice(0)) await target.remove()
  })

  /** A new store with one session `name` in it. */
  async function storeWith(name: string): Promise<StoreTarget> {
    const target = await storeTarget(dialect, 'sess-locks-')
    targets.push(target)
    await using store = await openStore(target.options)
    await store.create({name})
    return target
  }

  describe('processes on two hosts, each incrementing a counter kept in one session under its lock', () => {
    it('ends at processes × rounds with fencing tokens strictly rising across hosts, and no record lost or duplicated', async () => {
      const {processes, rounds} = COUNTER[dialect]
      const target = await storeWith('counter')
      const hosts = ['host-a', 'host-b']
      const children = Array.from({length: processes}, (_, i) => contender(target, ['count', 'counter', String(rounds)], hosts[i % hosts.length]))
      for (const each of children) expect(await each.line()).toBe('done')
      for (const each of children) expect(await each.child.exited).toBe(0)

      await using store = await openStore(target.options)
      const grants: {host: string; token: number}[] = []
      const writers = new Set<number>()
      for await (const {record, seq} of store.records('counter')) {
        const {host, n, pid, token} = (record as Extract<SessionRecord, {type: 'state'}>).state as {host: string; n: number; pid: number; token: number}
        expect(n).toBe(seq) // each increment read the one before it: nothing lost, nothing twice
        grants.push({host, token})
        writers.add(pid)
      }
      expect(grants.length).toBe(processes * rounds)
      // Every grant wrote one record before the next grant: in record order, tokens rise by one from host to host.
      expect(grants.map((grant) => grant.token)).toEqual(Array.from({length: processes * rounds}, (_, i) => i + 1))
      expect(new Set(grants.map((grant) => grant.host))).toEqual(new Set(hosts))
      expect(grants.filter((grant, i) => i > 0 && grant.host !== grants[i - 1]!.host).length).toBeGreaterThan(0)
      expect(writers.size).toBe(processes)
      const [lock] = await store.locks('counter')
      expect(lock?.held).toBe(false)
      expect(lock?.token).toBe(processes * rounds)
    }, 300_000)
  })

  describe('a holder that dies or stops', () => {
    it('killed with SIGKILL: the next process takes the lock at once, proving the holder dead', async () => {
      const target = await storeWith('s')
      const holder = contender(target, ['hold', 's', '600000'])
      expect(await holder.line()).toBe('held 1')
      holder.child.kill('SIGKILL')
      await holder.child.exited

      await using store = await openStore(target.options)
      const broken: string[] = []
      store.bus.plugin('test').on('lock.broken', ({reason, token}) => void broken.push(`${token}: ${reason}`))
      const lease = await store.lock('s', {wait: 0}) // a 10-minute lease, yet no wait
      expect(lease.token).toBe(2)
      expect(broken).toEqual([`1: its holder (pid ${holder.child.pid}) is gone`])
      await lease.release()
    }, 60_000)

    it('stopped with SIGSTOP beyond its TTL: loses the lock, and once continued its writes are refused', async () => {
      const target = await storeWith('s')
      const paused = contender(target, ['hold', 's', '500'])
      expect(await paused.line()).toBe('held 1')
      paused.send('write')
      expect(await paused.line()).toBe('written 1')
      paused.child.kill('SIGSTOP')

      // Alive (stopped, not dead): only the lease's expiry lets the next holder in.
      const next = contender(target, ['hold', 's', '60000', '30000'])
      expect(await next.line()).toBe('held 2')
      next.send('write')
      expect(await next.line()).toBe('written 2')

      paused.child.kill('SIGCONT')
      paused.send('write')
      expect(await paused.line()).toBe('refused E_LOCK')
      next.send('write')
      expect(await next.line()).toBe('written 3')
      paused.child.stdin.end()
      next.child.stdin.end()
      expect(await paused.child.exited).toBe(0)
      expect(await next.child.exited).toBe(0)

      await using store = await openStore(target.options)
      const writers: number[] = []
      for await (const {record} of store.records('s')) writers.push(((record as Extract<SessionRecord, {type: 'event'}>).data as {token: number}).token)
      expect(writers).toEqual([1, 2, 2])
    }, 60_000)
  })

  describe('holders on two hosts sharing the store', () => {
    it("a holder on host A killed with SIGKILL: host B cannot prove it dead and waits for its lease; host A proves it dead at once", async () => {
      const target = await storeWith('s')
      const holder = contender(target, ['hold', 's', '600000'], 'host-a')
      expect(await holder.line()).toBe('held 1')
      holder.child.kill('SIGKILL')
      await holder.child.exited

      // From host B, and from this process's host: its pid is not running here, which proves nothing.
      const fromB = contender(target, ['hold', 's', '600000'], 'host-b')
      expect(await fromB.line()).toBe('lost E_LOCK')
      expect(await fromB.child.exited).toBe(0)
      {
        await using store = await openStore({...target.options, lockWait: 0})
        const error = await store.lock('s', {wait: 0}).then(
          () => undefined,
          (caught: unknown) => caught,
        )
        expect(error).toBeInstanceOf(LockError)
        expect((error as Error).message).toContain(`locked by pid ${holder.child.pid} on host host-a`)
        expect(await store.locks('s')).toEqual([expect.objectContaining({held: true, holder: expect.objectContaining({host: 'host-a', pid: holder.child.pid}), stale: null, token: 1})])
        expect((await store.doctor()).findings.filter((finding) => finding.kind === 'stale-lock')).toEqual([])
        expect((await store.gc({}, {dryRun: true})).items.filter((item) => item.action === 'release')).toEqual([])
        // Nor may a writer without a lease write meanwhile.
        await expect(store.append('s', {data: null, name: 'outsider', type: 'event'})).rejects.toThrow(LockError)
      }

      // Host A itself finds no such pid: the lock is taken over at once, its 10-minute lease notwithstanding.
      const fromA = contender(target, ['hold', 's', '600000'], 'host-a')
      expect(await fromA.line()).toBe('held 2')
      fromA.child.stdin.end()
      expect(await fromA.child.exited).toBe(0)
    }, 60_000)

    it('a holder on host A killed with SIGKILL: host B takes the lock over once its lease has expired, not before', async () => {
      const target = await storeWith('s')
      const holder = contender(target, ['hold', 's', '1000'], 'host-a')
      expect(await holder.line()).toBe('held 1')
      holder.child.kill('SIGKILL')
      await holder.child.exited
      await using store = await openStore(target.options)
      const [held] = await store.locks('s')

      const fromB = contender(target, ['hold', 's', '60000', '30000'], 'host-b')
      expect(await fromB.line()).toBe('held 2')
      const [taken] = await store.locks('s')
      expect(taken).toMatchObject({held: true, holder: {host: 'host-b', pid: fromB.child.pid}, token: 2})
      expect(taken!.acquiredAt).toBeGreaterThanOrEqual(held!.expiresAt)
      fromB.child.stdin.end()
      expect(await fromB.child.exited).toBe(0)
    }, 60_000)

    it("gc and doctor count a session's owner on another host as alive; its own host finds it dead", async () => {
      const target = await storeTarget(dialect, 'sess-locks-')
      targets.push(target)
      const env = {...process.env, ...target.env, [HOST_ID_ENV]: 'host-a'}
      const made = Bun.spawnSync([process.execPath, OWNER_CHILD, target.home, String(Date.now()), 'crashed', 'agent', 'active'], {env})
      expect(made.exitCode, made.stderr.toString()).toBe(0)

      await using store = await openStore(target.options)
      expect((await store.get('crashed')).owner).toMatchObject({host: 'host-a'})
      expect((await store.doctor()).findings.filter((finding) => finding.kind === 'dead-owner')).toEqual([])
      const plan = await store.gc({maxSessions: 0}, {dryRun: true})
      expect(plan.kept.map((kept) => [kept.name, kept.keptBy])).toEqual([['crashed', expect.stringMatching(/^active, its owner \(pid \d+ on host-a\) may be alive$/)]])

      const doctor = sessJson<DoctorReport>(target.home, ['doctor'], {env: {...target.env, [HOST_ID_ENV]: 'host-a'}})
      expect(doctor.code, doctor.stderr).toBe(1)
      expect(doctor.json.findings.filter((finding) => finding.kind === 'dead-owner').map((finding) => finding.message)).toEqual([expect.stringMatching(/^Session crashed is active, but its owner \(pid \d+\) is gone\.$/)])
    }, 60_000)

    it("closing a session does not release the lock of a holder on another host that has the caller's pid", async () => {
      const target = await storeWith('s')
      const holder = contender(target, ['hold', 's', '600000'], 'host-a')
      expect(await holder.line()).toBe('held 1')
      try {
        await using store = await openStore({...target.options, lockWait: 0})
        await expect(store.closeSession('s', {holderPid: holder.child.pid})).rejects.toThrow(LockError)
        expect(await store.locks('s')).toEqual([expect.objectContaining({held: true, holder: expect.objectContaining({host: 'host-a'}), token: 1})])
      } finally {
        holder.child.stdin.end()
      }
      expect(await holder.child.exited).toBe(0)
    }, 60_000)
  })

  describe('a holder interrupted by a signal it does not handle', () => {
    for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      it(`${signal}: releases the lock, then dies of the signal (exit ${status})`, async () => {
        const target = await storeWith('s')
        const holder = contender(target, ['hold', 's', '600000'])
        expect(await holder.line()).toBe('held 1')
        holder.child.kill(signal)
        expect(await holder.child.exited).toBe(status)
        await using store = await openStore(target.options)
        const [lock] = await store.locks('s')
        expect(lock).toMatchObject({held: false, holder: {pid: holder.child.pid}, token: 1})
        expect(lock?.releasedAt).toEqual(expect.any(Number))
      }, 30_000)
    }
  })

  describe('two reclaimers racing for one stale lock', () => {
    it('exactly one wins, even with a pause between proving the holder dead and taking over', async () => {
      for (let round = 0; round < 3; round++) {
        const target = await storeWith('s')
        const holder = contender(target, ['hold', 's', '600000'])
        expect(await holder.line()).toBe('held 1')
        holder.child.kill('SIGKILL')
        await holder.child.exited

        const reclaimers = [contender(target, ['reclaim', 's', '400']), contender(target, ['reclaim', 's', '400'])]
        for (const each of reclaimers) expect(await each.line()).toBe('ready')
        for (const each of reclaimers) each.send('go')
        const outcomes = (await Promise.all(reclaimers.map((each) => each.line()))).sort()
        expect(outcomes).toEqual(['lost E_LOCK', 'won 2'])
        for (const each of reclaimers) {
          each.child.stdin.end()
          expect(await each.child.exited).toBe(0)
        }
      }
    }, 60_000)
  })

  describe('a recorded holder that is not the process it names', () => {
    /** A lock held (as far as the store knows) by a live `sleep`, then `tamper`ed in the database. */
    async function heldBySleeper(tamper: string | undefined): Promise<{target: StoreTarget; sleeper: Bun.Subprocess}> {
      const target = await storeWith('s')
      const sleeper = Bun.spawn(['sleep', '60'])
      {
        await using store = await openStore(target.options)
        ;(await store.lock('s', {pid: sleeper.pid, ttl: 600_000})).detach()
      }
      if (tamper) await runSql(target, tamper)
      return {sleeper, target}
    }

    it('a live holder is not taken over (the control case)', async () => {
      const {sleeper, target} = await heldBySleeper(undefined)
      await using store = await openStore(target.options)
      await expect(store.lock('s', {wait: 0})).rejects.toThrow(LockError)
      await expect(store.lock('s', {wait: 0})).rejects.toThrow(`pid ${sleeper.pid}`)
      sleeper.kill()
    })

    const impostors = [
      ['PID reuse: a live pid with another start time', `update locks set holder_start_time = '1'`, 'is gone; that pid now belongs to a process started later'],
      ['a lock taken in another boot', `update locks set holder_boot_id = '00000000-0000-4000-8000-000000000000'`, 'ran before this host rebooted'],
    ] as const
    for (const [title, tamper, reason] of impostors) {
      it(`${title} is taken over at once`, async () => {
        const {sleeper, target} = await heldBySleeper(tamper)
        await using store = await openStore(target.options)
        const broken: string[] = []
        store.bus.plugin('test').on('lock.broken', ({reason}) => void broken.push(reason))
        await using lease = await store.lock('s', {wait: 0})
        expect(lease.token).toBe(2)
        expect(broken).toEqual([`its holder (pid ${sleeper.pid}) ${reason}`])
        sleeper.kill()
      })
    }
  })
})
