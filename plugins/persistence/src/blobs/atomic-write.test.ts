import {closeSync, openSync, writeSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {DiskFullError, StorageError} from '../../../../src/errors/index.ts'
import {diskOf} from '../../../../src/os/disk-space.ts'
import {toStorageError} from './atomic-write.ts'

/** Runs `write` on a descriptor of /dev/full, where every write fails with a real ENOSPC, and returns the error. */
function onDevFull(write: (fd: number) => void): unknown {
  const fd = openSync('/dev/full', 'w')
  try {
    write(fd)
  } catch (error) {
    return error
  } finally {
    closeSync(fd)
  }
  throw new Error('a write to /dev/full succeeded')
}

describe('toStorageError', () => {
  it('makes ENOSPC a DiskFullError naming the disk of the path written', () => {
    const error = toStorageError(onDevFull((fd) => writeSync(fd, 'x')), 'write /tmp/blob', '/tmp/blob')
    expect(error).toBeInstanceOf(DiskFullError)
    expect(error.message).toContain('The disk holding /tmp/blob is full')
    expect(error.hint).toContain(`Free space on ${diskOf('/tmp').mountPoint}`)
  })

  it('keeps other errors as a StorageError naming the operation and errno', () => {
    const error = toStorageError(Object.assign(new Error('EACCES: permission denied'), {code: 'EACCES'}), 'write /tmp/blob', '/tmp/blob')
    expect(error).not.toBeInstanceOf(DiskFullError)
    expect(error).toBeInstanceOf(StorageError)
    expect([error.message, error.hint]).toEqual(['Could not write /tmp/blob: EACCES: permission denied', 'Check the permissions of the directory.'])
  })
})
