import {closeSync, constants, fsyncSync, openSync} from 'node:fs'

/**
 * fsyncs a directory, so that the creation, rename or removal of an entry in it is durable
 * (fsync(2): "Calling fsync() does not necessarily ensure that the entry in the directory
 * containing the file has also reached disk. For that an explicit fsync() on a file descriptor
 * for the directory is also needed.").
 *
 * @throws the open's or the fsync's error (an `Error` with its errno `code`: EIO, ENOSPC…); never retried.
 */
export function fsyncDirectory(directory: string): void {
  const fd = openSync(directory, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
