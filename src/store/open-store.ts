import {closeSync, constants, openSync} from 'node:fs'
import {locking} from '../../plugins/locking/src/plugin.ts'
import {FileBlobStore} from '../../plugins/persistence/src/blobs/file-blob-store.ts'
import {persistence} from '../../plugins/persistence/src/plugin.ts'
import {replay} from '../../plugins/replay/src/plugin.ts'
import {type HandlerFailure, LifecycleBus, type SessPlugin} from '../bus/index.ts'
import {readConfig} from '../config/file.ts'
import {sessionSettings} from '../coordinator/settings.ts'
import {connectDatabase} from '../db/connect.ts'
import {migrateToLatest} from '../db/migrate.ts'
import {StorageError} from '../errors/index.ts'
import {checkWait} from '../lock/options.ts'
import {parseLeaseToken} from '../lock/token.ts'
import {prepareHome, resolveHome, storeLayout} from './home.ts'
import {assertOutputLimit, OUTPUT_LIMIT_ENV, parseByteSize} from './output-limit.ts'
import {Store} from './store.ts'

/** The first-party plugins an application gets when it names none. */
export const DEFAULT_PLUGINS: readonly SessPlugin[] = [persistence, locking, replay]

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Home directory of the store; default `$SESS_HOME`, else `$XDG_DATA_HOME/sess`. */
  home?: string
  /**
   * Plugins whose handlers join the lifecycle bus; default {@link DEFAULT_PLUGINS}. Pass them
   * together with your own to keep format support: `[...DEFAULT_PLUGINS, mine]`.
   */
  plugins?: readonly SessPlugin[]
  /** Receives plugin handler failures (which never stop an operation); default: a line on stderr. */
  onPluginError?: (failure: HandlerFailure) => void
  /** Clock in ms since the epoch; default `Date.now`. */
  now?: () => number
  /**
   * Bound of each output buffer that has none of its own, in bytes; default `$SESS_OUTPUT_LIMIT`
   * (a size such as `1MiB`), else the setting `sessions.maxBuffer`, else 10 MiB.
   */
  outputLimit?: number
  /** Migrate the schema on open (default `true`); `sess migrate` opens without, to report what it applies. */
  autoMigrate?: boolean
  /** How long a write that holds no lease waits for a session locked by someone else, ms; default {@link DEFAULT_LOCK_WAIT}. */
  lockWait?: number
  /**
   * Lease tokens of locks held by another process that this one may write under, as `sess lock
   * run` hands them to its command; default: the comma-separated `SESS_LOCK_TOKEN`.
   */
  lockTokens?: readonly string[]
}

/** Default wait of a write for a session locked by someone else, ms. */
export const DEFAULT_LOCK_WAIT = 10_000

/**
 * Opens (creating if needed) a session store: the home directory (0700), the metadata database
 * (migrated to the latest schema on first use) and the lifecycle bus with its plugins.
 *
 * @throws {InvalidInputError} when `SESS_LOCK_TOKEN` (or `lockTokens`) holds something other than lease tokens.
 * @throws {InvalidInputError} for an invalid `outputLimit`, `$SESS_OUTPUT_LIMIT` or `sessions.maxBuffer`.
 * @throws {StorageError} when `config.json` cannot be read (only when the output bound comes from it).
 * @throws {StorageError} when the home is a symlink or cannot be created, or the database cannot
 *   be opened or has a newer schema.
 * @example
 * ```ts
 * import {openStore} from 'sess'
 * await using store = await openStore({home: '/tmp/demo-store'})
 * console.log(await store.list({limit: 10}))
 * ```
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const env = process.env[OUTPUT_LIMIT_ENV]
  let outputLimit = options.outputLimit === undefined ? (env ? parseByteSize(OUTPUT_LIMIT_ENV, env) : undefined) : assertOutputLimit(options.outputLimit)
  const adoptedLeases = (options.lockTokens ?? envLockTokens()).map((token) => parseLeaseToken(token, 'SESS_LOCK_TOKEN holds'))
  const lockWait = checkWait(options.lockWait ?? DEFAULT_LOCK_WAIT)
  const home = resolveHome(options.home)
  const warnings = prepareHome(home)
  const layout = storeLayout(home)
  outputLimit ??= sessionSettings(readConfig(layout)).maxBuffer
  ensureFile(layout.contentLock)
  const {beginWrite, close: closeDatabase, db, relaxedDb, search} = connectDatabase(layout.database)
  try {
    if (options.autoMigrate ?? true) await migrateToLatest(db, layout.migrateLock, beginWrite)
  } catch (error) {
    await Promise.all([db.destroy(), relaxedDb.destroy()])
    closeDatabase()
    throw error
  }
  const bus = new LifecycleBus(options.onPluginError)
  for (const plugin of options.plugins ?? DEFAULT_PLUGINS) await bus.use(plugin)
  const blobs = new FileBlobStore(layout.blobs)
  return new Store({adoptedLeases, beginWrite, blobs, bus, closeDatabase, contentLock: layout.contentLock, db, home, lockWait, migrateLock: layout.migrateLock, now: options.now ?? Date.now, outputLimit, relaxedDb, search, warnings})
}

/** Creates `path` (0600, never through a symlink) if missing, so that taking a lock on it later creates nothing. */
function ensureFile(path: string): void {
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600))
  } catch (error) {
    throw new StorageError(`Cannot create ${path}: ${(error as Error).message}`, {cause: error, hint: 'Check the permissions of the store directory; sess never follows a symlink in it.'})
  }
}

/** The tokens in `SESS_LOCK_TOKEN` (comma-separated; empty entries ignored). */
function envLockTokens(): string[] {
  return (process.env.SESS_LOCK_TOKEN ?? '').split(',').filter((token) => token.trim() !== '')
}
