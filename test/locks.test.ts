/**
 * Session locks across real processes (DESIGN §7): no lost updates under contention, fencing
 * tokens that refuse a paused holder's late writes, dead holders taken over at once, and race-free
 * takeover. The contenders are `test/helpers/lock-child.ts` processes.
 */
import {Database} from 'bun:sqlite'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {LockError, openStore, type SessionRecord} from '../src/index.ts'
import {REPO, useTempDir} from './helpers/cli.ts'

const CHILD = join(REPO, 'test', 'helpers', 'lock-child.ts')

/** A contender process, with its stdout read line by line. */
function contender(args: string[]) {
  const child = Bun.spawn([process.execPath, CHILD, ...args], {stderr: 'pipe', stdin: 'pipe', stdout: 'pipe'})
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

async function newSession(home: string, name: string): Promise<string> {
  await using store = await openStore({home})
  return (await store.create({name})).id
}

describe('32 processes × 100 increments of a counter kept in one session under its lock', () => {
  const dir = useTempDir()
  it('ends at 3,200 with fencing tokens strictly rising and no record lost or duplicated', async () => {
    const [processes, rounds] = [32, 100]
    const home = join(dir.path, 'store')
    await newSession(home, 'counter')
    const children = Array.from({length: processes}, () => contender(['count', home, 'counter', String(rounds)]))
    for (const each of children) expect(await each.line()).toBe('done')
    for (const each of children) expect(await each.child.exited).toBe(0)

    await using store = await openStore({home})
    const values: number[] = []
    const tokens: number[] = []
    const writers = new Set<number>()
    for await (const {record, seq} of store.records('counter')) {
      const {n, pid, token} = (record as Extract<SessionRecord, {type: 'state'}>).state as {n: number; pid: number; token: number}
      expect(n).toBe(seq) // each increment read the one before it: nothing lost, nothing twice
      values.push(n)
      tokens.push(token)
      writers.add(pid)
    }
    expect(values.length).toBe(processes * rounds)
    expect(values.at(-1)).toBe(3_200)
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!)
    expect(writers.size).toBe(processes)
    const [lock] = await store.locks('counter')
    expect(lock?.held).toBe(false)
    expect(lock?.token).toBe(3_200)
  }, 300_000)
})

describe('a holder that dies or stops', () => {
  const dir = useTempDir()

  it('killed with SIGKILL: the next process takes the lock at once, proving the holder dead', async () => {
    const home = join(dir.path, 'killed')
    await newSession(home, 's')
    const holder = contender(['hold', home, 's', '600000'])
    expect(await holder.line()).toBe('held 1')
    holder.child.kill('SIGKILL')
    await holder.child.exited

    await using store = await openStore({home})
    const broken: string[] = []
    store.bus.plugin('test').on('lock.broken', ({reason, token}) => void broken.push(`${token}: ${reason}`))
    const lease = await store.lock('s', {wait: 0}) // a 10-minute lease, yet no wait
    expect(lease.token).toBe(2)
    expect(broken).toEqual([`1: its holder (pid ${holder.child.pid}) is gone`])
    await lease.release()
  }, 60_000)

  it('stopped with SIGSTOP beyond its TTL: loses the lock, and once continued its writes are refused', async () => {
    const home = join(dir.path, 'stopped')
    await newSession(home, 's')
    const paused = contender(['hold', home, 's', '500'])
    expect(await paused.line()).toBe('held 1')
    paused.send('write')
    expect(await paused.line()).toBe('written 1')
    paused.child.kill('SIGSTOP')

    // Alive (stopped, not dead): only the lease's expiry lets the next holder in.
    const next = contender(['hold', home, 's', '60000', '30000'])
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

    await using store = await openStore({home})
    const writers: number[] = []
    for await (const {record} of store.records('s')) writers.push(((record as Extract<SessionRecord, {type: 'event'}>).data as {token: number}).token)
    expect(writers).toEqual([1, 2, 2])
  }, 60_000)
})

describe('a holder interrupted by a signal it does not handle', () => {
  const dir = useTempDir()
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal}: releases the lock, then dies of the signal (exit ${status})`, async () => {
      const home = join(dir.path, signal)
      await newSession(home, 's')
      const holder = contender(['hold', home, 's', '600000'])
      expect(await holder.line()).toBe('held 1')
      holder.child.kill(signal)
      expect(await holder.child.exited).toBe(status)
      await using store = await openStore({home})
      const [lock] = await store.locks('s')
      expect(lock).toMatchObject({held: false, holder: {pid: holder.child.pid}, token: 1})
      expect(lock?.releasedAt).toEqual(expect.any(Number))
    }, 30_000)
  }
})

describe('two reclaimers racing for one stale lock', () => {
  const dir = useTempDir()
  it('exactly one wins, even with a pause between proving the holder dead and taking over', async () => {
    for (let round = 0; round < 3; round++) {
      const home = join(dir.path, `race-${round}`)
      await newSession(home, 's')
      const holder = contender(['hold', home, 's', '600000'])
      expect(await holder.line()).toBe('held 1')
      holder.child.kill('SIGKILL')
      await holder.child.exited

      const reclaimers = [contender(['reclaim', home, 's', '400']), contender(['reclaim', home, 's', '400'])]
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
  const dir = useTempDir()

  /** A lock held (as far as the store knows) by a live `sleep`, then `tamper`ed in the database. */
  async function heldBySleeper(name: string, tamper: string | undefined): Promise<{home: string; sleeper: Bun.Subprocess}> {
    const home = join(dir.path, name)
    await newSession(home, 's')
    const sleeper = Bun.spawn(['sleep', '60'])
    {
      await using store = await openStore({home})
      ;(await store.lock('s', {pid: sleeper.pid, ttl: 600_000})).detach()
    }
    if (tamper) {
      const db = new Database(join(home, 'sess.db'))
      db.run(tamper)
      db.close()
    }
    return {home, sleeper}
  }

  it('a live holder is not taken over (the control case)', async () => {
    const {home, sleeper} = await heldBySleeper('alive', undefined)
    await using store = await openStore({home})
    await expect(store.lock('s', {wait: 0})).rejects.toThrow(LockError)
    await expect(store.lock('s', {wait: 0})).rejects.toThrow(`pid ${sleeper.pid}`)
    sleeper.kill()
  })

  const impostors = [
    ['PID reuse: a live pid with another start time', 'reused', `update locks set holder_start_time = '1'`, 'is gone; that pid now belongs to a process started later'],
    ['a lock taken in another boot', 'rebooted', `update locks set holder_boot_id = '00000000-0000-4000-8000-000000000000'`, 'ran before this host rebooted'],
  ] as const
  for (const [title, name, tamper, reason] of impostors) {
    it(`${title} is taken over at once`, async () => {
      const {home, sleeper} = await heldBySleeper(name, tamper)
      await using store = await openStore({home})
      const broken: string[] = []
      store.bus.plugin('test').on('lock.broken', ({reason}) => void broken.push(reason))
      await using lease = await store.lock('s', {wait: 0})
      expect(lease.token).toBe(2)
      expect(broken).toEqual([`its holder (pid ${sleeper.pid}) ${reason}`])
      sleeper.kill()
    })
  }
})
