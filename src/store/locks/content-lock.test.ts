import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {DIALECTS, lockSpaceOf, type StoreTarget, storeTarget} from '../../../test/helpers/dialects.ts'
import {openStore} from '../open-store.ts'
import {ContentLock} from './content-lock.ts'
import {pollLock} from './lock-space.ts'

describe.each(DIALECTS)('store-wide locks on %s', (dialect) => {
  let target: StoreTarget

  beforeEach(async () => {
    target = await storeTarget(dialect)
    // Creates the home (and on PostgreSQL the tables): the lock spaces below live there.
    await (await openStore(target.options)).close()
  })

  afterEach(() => target.remove())

  it('lets writers share the content lock, and keeps a sweep out until the last writer is done', async () => {
    const writerSpace = lockSpaceOf(target)
    const sweeperSpace = lockSpaceOf(target)
    try {
      const writers = new ContentLock(writerSpace)
      const sweeper = new ContentLock(sweeperSpace)
      let release = (): void => undefined
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const first = writers.shared(() => gate)
      const second = writers.shared(async () => 'second')
      expect(await second).toBe('second')
      expect(await sweeper.exclusive(30)).toBeUndefined()
      release()
      await first
      const sweep = await sweeper.exclusive(1_000)
      expect(sweep).toBeDefined()
      let wrote = false
      const late = writers.shared(async () => {
        wrote = true
      })
      await Bun.sleep(30)
      expect(wrote).toBe(false)
      sweep!.release()
      await late
      expect(wrote).toBe(true)
    } finally {
      await Promise.all([writerSpace.close(), sweeperSpace.close()])
    }
  })

  it('makes two holders in one space conflict as two processes do', async () => {
    const space = lockSpaceOf(target)
    try {
      const writers = new ContentLock(space)
      let release = (): void => undefined
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const writing = writers.shared(() => gate)
      await Bun.sleep(10)
      expect(await writers.exclusive(20)).toBeUndefined()
      release()
      await writing
      const sweep = await writers.exclusive(1_000)
      expect(sweep).toBeDefined()
      expect(await space.tryLock('content', {shared: true})).toBeUndefined()
      sweep!.release()
      const gc = await space.tryLock('gc', {shared: false})
      expect(gc).toBeDefined()
      expect(await space.tryLock('gc', {shared: false})).toBeUndefined()
      gc!.release()
      const again = await pollLock(space, 'gc', {shared: false, wait: 1_000})
      expect(again).toBeDefined()
      again!.release()
    } finally {
      await space.close()
    }
  })

  it('is released when its holder closes (as when its process dies)', async () => {
    const holder = lockSpaceOf(target)
    const other = lockSpaceOf(target)
    try {
      expect(await holder.tryLock('gc', {shared: false})).toBeDefined()
      expect(await other.tryLock('gc', {shared: false})).toBeUndefined()
      await holder.close()
      const taken = await pollLock(other, 'gc', {shared: false, wait: 1_000})
      expect(taken).toBeDefined()
      taken!.release()
    } finally {
      await Promise.all([holder.close(), other.close()])
    }
  })

  it('is held by a save from its blob until its row commits', async () => {
    await using store = await openStore(target.options)
    const space = lockSpaceOf(target)
    try {
      const sweep = await new ContentLock(space).exclusive(0)
      expect(sweep).toBeDefined()
      let saved = false
      const save = store.save({bytes: new TextEncoder().encode('{"a":1}\n'), format: 'raw', name: 'waits'}).then(() => {
        saved = true
      })
      await Bun.sleep(50)
      expect(saved).toBe(false)
      sweep!.release()
      await save
      expect((await store.get('waits')).versionCount).toBe(1)
    } finally {
      await space.close()
    }
  })
})
