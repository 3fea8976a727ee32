/**
 * The database engines a parameterised suite runs on, and a fresh, empty store on each: SQLite in
 * the store's home, or a new PostgreSQL database on the test server (see `test/setup/postgres.ts`).
 *
 * @example
 * ```ts
 * describe.each(DIALECTS)('store on %s', (dialect) => {
 *   let target: StoreTarget
 *   beforeEach(async () => { target = await storeTarget(dialect) })
 *   afterEach(() => target.remove())
 *   it('…', async () => { await using store = await openStore(target.options) })
 * })
 * ```
 */
import {Database} from 'bun:sqlite'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import pg from 'pg'
import type {DialectName} from '../../src/db/dialect.ts'
import {DATABASE_URL_ENV} from '../../src/db/settings.ts'
import {storeLayout} from '../../src/store/home.ts'
import {AdvisoryLockSpace} from '../../src/store/locks/advisory-lock-space.ts'
import {FileLockSpace} from '../../src/store/locks/file-lock-space.ts'
import type {LockSpace} from '../../src/store/locks/lock-space.ts'
import type {OpenStoreOptions} from '../../src/store/open-store.ts'
import {tempDir} from './cli.ts'

/** Names the test server's maintenance database (`postgres://…/postgres`). */
export const POSTGRES_URL_ENV = 'SESS_TEST_POSTGRES_URL'

/** Every engine, for `describe.each`. */
export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres']

/** A fresh store for one test. */
export interface StoreTarget {
  dialect: DialectName
  /** The store's home directory (for both engines: settings and local lock files live there). */
  home: string
  /** The PostgreSQL database's URL; `undefined` on SQLite. */
  databaseUrl: string | undefined
  /** `{home, databaseUrl}` for `openStore`. */
  options: Pick<OpenStoreOptions, 'home' | 'databaseUrl'>
  /** Environment for a `sess` child process: `SESS_HOME`, and `SESS_DATABASE_URL` on PostgreSQL. */
  env: Record<string, string>
  /** Deletes the home and drops the database. */
  remove: () => Promise<void>
}

/**
 * A new home directory and, on PostgreSQL, a new database (dropped again by `remove`).
 *
 * @throws an `Error` when the test server is not set up (`$SESS_TEST_POSTGRES_URL`).
 */
export async function storeTarget(dialect: DialectName, prefix = 'sess-test-'): Promise<StoreTarget> {
  const dir = tempDir(prefix)
  const home = join(dir.path, 'store')
  const database = dialect === 'postgres' ? await createDatabase() : undefined
  return {
    databaseUrl: database?.url,
    dialect,
    env: {SESS_HOME: home, ...(database ? {[DATABASE_URL_ENV]: database.url} : {})},
    home,
    options: {databaseUrl: database?.url, home},
    remove: async () => {
      await database?.drop()
      dir.remove()
    },
  }
}

/**
 * The store-wide locks of `target`'s store as another process sees them: lock files of its own, or
 * a connection of its own (close it after use). Its home must exist (open the store first).
 */
export function lockSpaceOf(target: StoreTarget): LockSpace {
  return target.databaseUrl === undefined ? new FileLockSpace(storeLayout(target.home)) : new AdvisoryLockSpace(target.databaseUrl)
}

/**
 * The names of the blobs stored for a session, sorted: the files in its blob directory, or the
 * distinct blobs of its rows in `blob_chunks` (quarantined ones included).
 */
export async function storedBlobs(target: StoreTarget, sessionId: string): Promise<string[]> {
  if (target.databaseUrl === undefined) {
    try {
      return readdirSync(join(target.home, 'blobs', sessionId)).sort()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
  }
  const {rows} = await withClient(target.databaseUrl, (client) => client.query<{blob: string}>('select distinct blob from blob_chunks where session_id = $1 order by blob', [sessionId]))
  return rows.map((row) => row.blob)
}

/** A new, empty database on the test server: its URL, and how to drop it. */
export async function createDatabase(): Promise<{url: string; drop: () => Promise<void>}> {
  const admin = process.env[POSTGRES_URL_ENV]
  if (!admin) throw new Error(`${POSTGRES_URL_ENV} is not set: the vitest global setup starts the PostgreSQL server of the tests.`)
  const name = `sess_test_${crypto.randomUUID().replaceAll('-', '')}`
  await withClient(admin, (client) => client.query(`create database ${name}`))
  const url = new URL(admin)
  url.pathname = `/${name}`
  return {
    drop: () => withClient(admin, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
    url: url.toString(),
  }
}

/** Runs `work` with a client connected to `url` (64-bit integers and numerics read as numbers, as the store reads them), closed after. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const numbers = (oid: number, format?: string) => (oid === 20 || oid === 1700 ? Number : pg.types.getTypeParser(oid, format as 'text'))
  const client = new pg.Client({connectionString: url, types: {getTypeParser: numbers as never}})
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/**
 * Runs `statement` (`?` placeholders for `values`) on a store's database directly, through a
 * connection of its own, as a tool outside sess would: bun:sqlite on `sess.db`, or a pg client on
 * the PostgreSQL database. Returns its rows.
 */
export async function runSql<T = Record<string, unknown>>(target: StoreTarget, statement: string, ...values: unknown[]): Promise<T[]> {
  if (target.databaseUrl === undefined) {
    const db = new Database(join(target.home, 'sess.db'))
    try {
      return db.query(statement).all(...(values as never[])) as T[]
    } finally {
      db.close(false)
    }
  }
  let n = 0
  const text = statement.replace(/\?/g, () => `$${++n}`)
  return withClient(target.databaseUrl, async (client) => (await client.query(text, values)).rows as T[])
}
