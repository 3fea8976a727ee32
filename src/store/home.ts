import {accessSync, chmodSync, constants, lstatSync, mkdirSync} from 'node:fs'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {InvalidInputError, StorageError} from '../errors/index.ts'

/** Where things live in a store's home directory. */
export interface StoreLayout {
  home: string
  /** The metadata database (SQLite). */
  database: string
  /** Blob files: saved originals and snapshots (on PostgreSQL they are rows of `blob_chunks` instead). */
  blobs: string
  /** Taken (flock) while migrations run. */
  migrateLock: string
  /** Shared by writers of content, exclusive by a sweep for litter (see `ContentLock`); on PostgreSQL an advisory lock instead (see `AdvisoryLockSpace`). */
  contentLock: string
  /** Taken (flock) by a `sess gc` run, so that two never overlap; on PostgreSQL an advisory lock instead. */
  gcLock: string
  /** Where `sess gc` and `sess doctor --fix` move what they cannot repair, for the trash's grace period. */
  quarantine: string
  /** Settings (`sess config`), JSON. */
  config: string
}

/**
 * The store's home directory: `home` if given, else `$SESS_HOME`, else `$XDG_DATA_HOME/sess`,
 * else `~/.local/share/sess` (XDG Base Directory Specification).
 */
export function resolveHome(home?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = home ?? env.SESS_HOME
  if (chosen !== undefined && chosen !== '') {
    if (chosen.includes('\0')) throw new InvalidInputError('The store path contains a NUL byte.', {hint: 'Pass a plain directory path with --home.'})
    return resolve(chosen)
  }
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share')
  return join(resolve(dataHome), 'sess')
}

/** The paths of a store whose home is `home`. */
export function storeLayout(home: string): StoreLayout {
  return {
    blobs: join(home, 'blobs'),
    config: join(home, 'config.json'),
    contentLock: join(home, 'content.lock'),
    database: join(home, 'sess.db'),
    gcLock: join(home, 'gc.lock'),
    home,
    migrateLock: join(home, 'migrate.lock'),
    quarantine: join(home, 'quarantine'),
  }
}

/**
 * Creates the home directory (mode 0700; missing parents with default modes) or checks an
 * existing one, as OpenSSH checks `~/.ssh` (its `StrictModes`): it must be a real directory (not
 * a symlink), owned by the current user, and writable by them (sess writes even to read: its
 * lock files and SQLite's shared memory). One that group or others may read, write or enter is
 * made private again (0700) with a warning, where ssh would refuse: the store is the user's own,
 * and the fix is the one ssh's message asks for.
 *
 * @returns warnings for the user (empty when all was well).
 * @throws {StorageError} when the path is a symlink or not a directory, belongs to another user,
 *   is not writable (permissions, a read-only file system), or cannot be created.
 */
export function prepareHome(home: string): string[] {
  try {
    mkdirSync(home, {mode: 0o700, recursive: true})
  } catch (error) {
    throw new StorageError(`Cannot create the store directory ${home}: ${(error as Error).message}`, {
      cause: error,
      hint: 'Choose another directory with --home or SESS_HOME.',
    })
  }
  const stat = lstatSync(home)
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new StorageError(`The store path ${home} is a symlink or not a directory.`, {
      hint: 'sess never follows symlinks into its store; point --home at the real directory.',
    })
  }
  const uid = process.getuid?.()
  if (uid !== undefined && stat.uid !== uid) {
    throw new StorageError(`The store ${home} belongs to another user (uid ${stat.uid}), not to you (uid ${uid}).`, {
      hint: 'A store is private to its user: use your own with --home or SESS_HOME, or run sess as its owner.',
    })
  }
  try {
    accessSync(home, constants.W_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'EROFS' ? 'it is on a read-only file system' : `you may not write to it (${code ?? (error as Error).message})`
    throw new StorageError(`The store ${home} is not writable: ${why}. sess writes to its store even to read it (lock files, the database's shared memory).`, {
      cause: error,
      hint: code === 'EROFS' ? 'Copy the store to a writable disk and pass --home, or remount the file system read-write.' : `Make it writable again (chmod u+w ${home}), or pass --home to another store.`,
    })
  }
  if ((stat.mode & 0o077) !== 0) {
    chmodSync(home, 0o700)
    return [`The store ${home} was open to other users (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); it is now 0700.`]
  }
  return []
}
