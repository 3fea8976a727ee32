import {existsSync, realpathSync, statSync} from 'node:fs'
import {dirname, resolve, sep} from 'node:path'
import {InvalidInputError, NotFoundError} from '../../../../src/errors/index.ts'

/**
 * Checks the file `sess restore --to` is to write, before anything is read from the store.
 *
 * - It must not be inside the store `home` (after resolving `..` and the symlinks of its
 *   directory, so neither `HOME/blobs/../sess.db` nor a link to the store gets there): restore
 *   would otherwise replace the store's own files, its database included, with `--force`.
 * - If something already stands there, it must be a regular file (or a symlink to one, which
 *   `--force` replaces, never the file it points to): a restore is written to a temp file and
 *   renamed into place, which would replace a FIFO, a device (`/dev/null`, `/dev/stdout`) or
 *   fail on a directory.
 *
 * @returns the absolute path to write.
 * @throws {InvalidInputError} for a NUL byte, a path inside the store, or a target that is not a regular file.
 * @throws {NotFoundError} when the directory to write in does not exist.
 */
export function restoreTarget(path: string, home: string): string {
  if (path.includes('\0')) throw new InvalidInputError('The --to path contains a NUL byte.', {hint: 'Pass a plain file path.'})
  const target = resolve(path)
  const stat = statSync(target, {throwIfNoEntry: false})
  if (stat && !stat.isFile()) {
    const what = stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : 'a device'
    throw new InvalidInputError(`${path} is ${what}, not a regular file: sess restore --to writes a new file and renames it into place.`, {
      hint: 'To write into it, restore to stdout and redirect: sess restore NAME > TARGET (or --to -).',
    })
  }
  if (!existsSync(dirname(target))) {
    throw new NotFoundError(`The directory of ${path} does not exist.`, {hint: `Create it first (mkdir -p ${dirname(target)}), or choose another path.`})
  }
  const store = realOrSelf(home)
  const directory = realOrSelf(dirname(target))
  if (directory === store || directory.startsWith(`${store}${sep}`)) {
    throw new InvalidInputError(`${path} is inside the store ${home}: sess restore never writes into its own store.`, {hint: 'Choose a path outside the store directory.'})
  }
  return target
}

/** `path` with every symlink resolved, or as it is when it does not exist (yet). */
function realOrSelf(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}
