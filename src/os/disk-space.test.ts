import {closeSync, openSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Database} from 'bun:sqlite'
import {describe, expect, it} from 'vitest'
import {useTempDir} from '../../test/helpers/cli.ts'
import {DiskFullError, ExitCode, StorageError} from '../errors/index.ts'
import {diskFullError, diskOf, isDiskFull} from './disk-space.ts'

const dir = useTempDir('sess-disk-')

/** The error a write to /dev/full gets: a real ENOSPC from the kernel. */
function enospc(): unknown {
  const fd = openSync('/dev/full', 'w')
  try {
    writeSync(fd, 'x')
  } catch (error) {
    return error
  } finally {
    closeSync(fd)
  }
  throw new Error('a write to /dev/full succeeded')
}

/** The error SQLite gives when a database may grow no more (`max_page_count`): a real SQLITE_FULL. */
function sqliteFull(): unknown {
  const db = new Database(join(dir.path, 'capped.db'))
  try {
    db.run('create table t (x text)')
    db.run('pragma max_page_count = 3')
    for (;;) db.run('insert into t values (?)', ['y'.repeat(2_000)])
  } catch (error) {
    return error
  } finally {
    db.close()
  }
}

/** The mount point of `path` as df(1) reports it. */
function dfTarget(path: string): string {
  return Bun.spawnSync(['df', '--output=target', path]).stdout.toString().trim().split('\n').at(-1)!
}

describe('isDiskFull', () => {
  it('recognises ENOSPC from a system call and SQLITE_FULL from SQLite, and nothing else', () => {
    expect(isDiskFull(enospc())).toBe(true)
    expect(isDiskFull(sqliteFull())).toBe(true)
    expect(isDiskFull(Object.assign(new Error('quota'), {code: 'EDQUOT'}))).toBe(true)
    expect(isDiskFull(Object.assign(new Error('denied'), {code: 'EACCES'}))).toBe(false)
    expect(isDiskFull(new Error('no code'))).toBe(false)
    expect(isDiskFull(undefined)).toBe(false)
  })
})

describe('diskOf', () => {
  it('finds the mount point df reports and the space left there, from a path that does not exist yet', () => {
    const path = join(dir.path, 'not', 'yet', 'there')
    const disk = diskOf(path)
    expect(disk.mountPoint).toBe(dfTarget(dir.path))
    expect(disk.freeBytes).toBeGreaterThan(0)
    expect(diskOf('/').mountPoint).toBe('/')
    expect(diskOf(tmpdir()).mountPoint).toBe(dfTarget(tmpdir()))
  })
})

describe('diskFullError', () => {
  it('names what was written, the disk and the space left, and the fix; exit 1, code E_DISK_FULL', () => {
    const path = join(dir.path, 'store')
    const error = diskFullError(path, enospc())
    const {mountPoint} = diskOf(path)
    expect(error).toBeInstanceOf(DiskFullError)
    expect(error).toBeInstanceOf(StorageError)
    expect(error.message).toMatch(new RegExp(`^The disk holding ${path} is full: [\\d.]+ (B|KiB|MiB|GiB|TiB) free on ${mountPoint}\\.$`))
    expect(error.hint).toContain(`Free space on ${mountPoint}`)
    expect(error.toJSON()).toMatchObject({code: 'E_DISK_FULL', exitCode: ExitCode.failure})
    expect(error.mountPoint).toBe(mountPoint)
    const quota = diskFullError(path, Object.assign(new Error('quota'), {code: 'EDQUOT'}))
    expect(quota.message).toBe(`Your disk quota is used up on ${mountPoint}, which holds ${path}.`)
  })
})
