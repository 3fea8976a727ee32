import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tempDir} from '../../test/helpers/cli.ts'
import {ContentLock} from './content-lock.ts'
import {openStore} from './open-store.ts'

describe('ContentLock', () => {
  it('lets writers share it, and keeps a sweep out until the last writer is done', async () => {
    const dir = tempDir()
    try {
      const path = join(dir.path, 'content.lock')
      const writers = new ContentLock(path)
      const sweeper = new ContentLock(path)
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
      const sweep = await sweeper.exclusive(0)
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
      dir.remove()
    }
  })

  it('is held by a save from its blob until its row commits', async () => {
    const dir = tempDir()
    try {
      await using store = await openStore({home: join(dir.path, 'store')})
      const sweeper = new ContentLock(join(store.home, 'content.lock'))
      const sweep = await sweeper.exclusive(0)
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
      dir.remove()
    }
  })
})
