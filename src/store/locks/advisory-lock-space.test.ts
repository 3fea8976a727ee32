import pg from 'pg'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {type StoreTarget, storeTarget} from '../../../test/helpers/dialects.ts'
import {StorageError} from '../../errors/index.ts'
import {AdvisoryLockSpace} from './advisory-lock-space.ts'
import {pollLock} from './lock-space.ts'

describe('AdvisoryLockSpace', () => {
  let target: StoreTarget

  beforeEach(async () => {
    target = await storeTarget('postgres')
  })

  afterEach(() => target.remove())

  /** Ends the lock connections of the database from outside, as a network cut or a killed backend would. */
  async function terminateLockConnections(): Promise<number> {
    const client = new pg.Client({connectionString: target.databaseUrl})
    await client.connect()
    try {
      const {rows} = await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'sess locks' and datname = current_database()`)
      return rows.length
    } finally {
      await client.end()
    }
  }

  it('loses its locks with its connection, which the server releases, and takes them again on a new one', async () => {
    const holder = new AdvisoryLockSpace(target.databaseUrl!)
    const before = new AdvisoryLockSpace(target.databaseUrl!)
    const after = new AdvisoryLockSpace(target.databaseUrl!)
    try {
      const held = await holder.tryLock('content', {shared: false})
      expect(held).toBeDefined()
      expect(await before.tryLock('content', {shared: true})).toBeUndefined()
      await before.close()
      expect(await terminateLockConnections()).toBeGreaterThanOrEqual(1) // the holder's (the one just closed may linger)
      const taken = await pollLock(after, 'content', {shared: true, wait: 5_000})
      expect(taken).toBeDefined()
      held!.release() // its connection is gone: nothing to unlock, and no error
      expect(await holder.tryLock('gc', {shared: false})).toBeDefined()
      expect(await holder.tryLock('content', {shared: false})).toBeUndefined() // the other holds it shared now
      taken!.release()
      expect(await pollLock(holder, 'content', {shared: false, wait: 5_000})).toBeDefined()
    } finally {
      await Promise.all([holder.close(), before.close(), after.close()])
    }
  })

  it('refuses to lock once closed, and reports a server it cannot reach as a StorageError naming it', async () => {
    const space = new AdvisoryLockSpace(target.databaseUrl!)
    await space.close()
    await expect(space.tryLock('gc', {shared: false})).rejects.toThrow(/The store is closed/)
    const url = new URL(target.databaseUrl!)
    url.port = '1'
    const nowhere = new AdvisoryLockSpace(url.toString())
    const error = await nowhere.tryLock('content', {shared: true}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).message).toMatch(/^Cannot reach the PostgreSQL server of postgres:\/\/sess@127\.0\.0\.1:1\/sess_test_\w+: /)
    expect((error as StorageError).message).not.toContain(url.password)
    await nowhere.close()
  })
})
