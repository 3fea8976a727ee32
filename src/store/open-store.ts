import {locking} from '../../plugins/locking/src/plugin.ts'
import {FileBlobStore} from '../../plugins/persistence/src/blobs/file-blob-store.ts'
import {PostgresBlobStore} from '../../plugins/persistence/src/blobs/postgres-blob-store.ts'
import {persistence} from '../../plugins/persistence/src/plugin.ts'
import {redact} from '../../plugins/redact/src/plugin.ts'
import {replay} from '../../plugins/replay/src/plugin.ts'
import {type HandlerFailure, LifecycleBus, type SessPlugin} from '../bus/index.ts'
import {readConfig} from '../config/file.ts'
import {sessionSettings} from '../coordinator/settings.ts'
import {connectDatabase} from '../db/connect.ts'
import {assertSchemaNotNewer, migrateToLatest} from '../db/migrate.ts'
import {isPostgresUrl} from '../db/postgres.ts'
import {databaseLocation} from '../db/settings.ts'
import {checkWait} from '../lock/options.ts'
import {parseLeaseToken} from '../lock/token.ts'
import {prepareHome, resolveHome, storeLayout} from './home.ts'
import {AdvisoryLockSpace} from './locks/advisory-lock-space.ts'
import {FileLockSpace} from './locks/file-lock-space.ts'
import type {LockSpace} from './locks/lock-space.ts'
import {assertOutputLimit, OUTPUT_LIMIT_ENV, parseByteSize} from './output-limit.ts'
import {Store} from './store.ts'

/** The first-party plugins an application gets when it names none (redact masks nothing unless `redact.enabled` is set). */
export const DEFAULT_PLUGINS: readonly SessPlugin[] = [persistence, locking, replay, redact]

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
  /**
   * A `postgres://` URL: keep the index, the locks and the content in that PostgreSQL database,
   * shared by every machine that uses it; default `$SESS_DATABASE_URL`, else the setting
   * `database.url`, else the embedded SQLite file `sess.db` in the home directory.
   */
  databaseUrl?: string
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
 * @throws {InvalidInputError} when `databaseUrl`, `$SESS_DATABASE_URL` or `database.url` is not a PostgreSQL URL.
 * @throws {StorageError} when the home is a symlink, belongs to another user, is not writable or
 *   cannot be created, or the database cannot be opened, is damaged, or has a newer schema (also
 *   with `autoMigrate: false`: nothing is ever read from a schema this sess does not know).
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
  const location = databaseLocation(layout.database, () => readConfig(layout), options.databaseUrl)
  // The lock files first: a store that is read-only to this user is named as such before its database is touched.
  const fileLocks = isPostgresUrl(location) ? undefined : new FileLockSpace(layout)
  const database = await connectDatabase(location)
  const {beginWrite, close: closeDatabase, db, dialect, relaxedDb, search} = database
  // Content and store-wide locks where every user of the database reaches them: rows and advisory
  // locks in a shared PostgreSQL database, files and flocks in the home beside SQLite.
  const shared = dialect === 'postgres'
  let locks: LockSpace
  try {
    if (options.autoMigrate ?? true) await migrateToLatest(db, layout.migrateLock)
    else await assertSchemaNotNewer(db)
    locks = fileLocks ?? new AdvisoryLockSpace(location)
  } catch (error) {
    await database.destroy()
    throw error
  }
  const blobs = shared ? new PostgresBlobStore(db) : new FileBlobStore(layout.blobs)
  const bus = new LifecycleBus(options.onPluginError)
  for (const plugin of options.plugins ?? DEFAULT_PLUGINS) await bus.use(plugin)
  return new Store({adoptedLeases, beginWrite, blobs, bus, closeDatabase, db, dialect, home, lockWait, locks, migrateLock: layout.migrateLock, now: options.now ?? Date.now, outputLimit, relaxedDb, search, warnings})
}

/** The tokens in `SESS_LOCK_TOKEN` (comma-separated; empty entries ignored). */
function envLockTokens(): string[] {
  return (process.env.SESS_LOCK_TOKEN ?? '').split(',').filter((token) => token.trim() !== '')
}
