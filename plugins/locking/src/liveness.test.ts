/**
 * proofOfDeath with real processes of this host: a lock holder is proven dead when its pid is gone,
 * reused by a later process, a zombie, or from before a reboot; never on another host (another
 * host identity), and never while it lives.
 */
import type {Subprocess} from 'bun'
import {afterEach, describe, expect, it} from 'vitest'
import {hostId} from '../../../src/os/host.ts'
import {bootId, lockHolder, processStat} from '../../../src/os/process.ts'
import {sleep} from '../../../src/os/sleep.ts'
import {proofOfDeath} from './liveness.ts'

const children: Subprocess[] = []

/** A `sleep` child, killed after the test. */
function spawnSleep(seconds = 30): Subprocess {
  const child = Bun.spawn(['sleep', String(seconds)], {stdio: ['ignore', 'ignore', 'ignore']})
  children.push(child)
  return child
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGKILL')
    await child.exited
  }
})

describe('proofOfDeath', () => {
  it('finds no proof against the calling process', () => {
    const self = lockHolder()
    expect(self).toMatchObject({host: hostId(), pid: process.pid})
    expect(self.startTime).not.toBeNull()
    expect(proofOfDeath(self)).toBeUndefined()
  })

  it('finds no proof against a live process', () => {
    const child = spawnSleep()
    const holder = lockHolder(child.pid)
    expect(holder.startTime).toMatch(/^\d+$/)
    expect(proofOfDeath(holder)).toBeUndefined()
    // Without a known start time or boot id, a live pid still counts as alive.
    expect(proofOfDeath({...holder, bootId: null, startTime: null})).toBeUndefined()
  })

  it('proves a process that was killed and reaped gone', async () => {
    const child = spawnSleep()
    const holder = lockHolder(child.pid)
    child.kill('SIGKILL')
    await child.exited
    expect(processStat(child.pid)).toBeNull()
    expect(proofOfDeath(holder)).toBe(`its holder (pid ${child.pid}) is gone`)
    expect(proofOfDeath({...holder, bootId: null, startTime: null})).toBe(`its holder (pid ${child.pid}) is gone`)
  })

  it('proves a holder dead whose pid now runs a process started at another time (pid reused)', () => {
    const child = spawnSleep()
    const holder = lockHolder(child.pid)
    const earlier = String(BigInt(holder.startTime!) - 1n)
    expect(proofOfDeath({...holder, startTime: earlier})).toBe(`its holder (pid ${child.pid}) is gone; that pid now belongs to a process started later`)
  })

  it('proves a holder from another boot dead, even if its pid is alive now', () => {
    const boot = bootId()
    if (boot === null) throw new Error('no /proc/sys/kernel/random/boot_id on this host')
    const self = lockHolder()
    const other = boot.replace(/^./, (first) => (first === '0' ? '1' : '0'))
    expect(proofOfDeath({...self, bootId: other})).toBe(`its holder (pid ${process.pid}) ran before this host rebooted`)
    expect(proofOfDeath({...self, bootId: null})).toBeUndefined()
  })

  it('never proves a holder on another host dead', async () => {
    const child = spawnSleep()
    const holder = lockHolder(child.pid)
    child.kill('SIGKILL')
    await child.exited
    const elsewhere = {...holder, bootId: 'another-boot', host: `${hostId()}-elsewhere`}
    expect(proofOfDeath(elsewhere)).toBeUndefined()
    expect(proofOfDeath({...elsewhere, pid: process.pid, startTime: '1'})).toBeUndefined()
  })

  it('proves a zombie (exited, not yet reaped by its parent) dead', async () => {
    // sh starts `sleep 0.1` in the background, prints its pid, then becomes `sleep 30`, which never
    // reaps it: once it exits, the background child stays a zombie until `sleep 30` is killed.
    const parent = Bun.spawn(['sh', '-c', 'sleep 0.1 & echo $!; exec sleep 30'], {stdio: ['ignore', 'pipe', 'ignore']})
    children.push(parent)
    const reader = parent.stdout.getReader()
    let text = ''
    while (!text.includes('\n')) {
      const {done, value} = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    reader.releaseLock()
    const pid = Number(text.trim())
    expect(pid).toBeGreaterThan(1)
    const holder = lockHolder(pid)
    expect(holder.startTime).not.toBeNull()
    const deadline = Date.now() + 10_000
    while (processStat(pid)?.state !== 'Z' && Date.now() < deadline) await sleep(20)
    expect(processStat(pid)).toMatchObject({ppid: parent.pid, startTime: holder.startTime, state: 'Z'})
    expect(proofOfDeath(holder)).toBe(`its holder (pid ${pid}) has exited`)
  })
})
