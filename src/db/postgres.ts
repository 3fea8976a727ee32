import pg from 'pg'
import {StorageError} from '../errors/index.ts'

/**
 * Advisory-lock keys (`pg_advisory_lock`, https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS)
 * of the store-wide locks, in the one key space of a database (one store per database).
 */
export const ADVISORY_KEYS = {
  /** Taken for the whole of every write transaction: writers serialise, as on SQLite. */
  write: 0x5e55_0001,
  /** The content lock: shared by writers of blobs until their rows commit, exclusive by a sweep. */
  content: 0x5e55_0002,
  /** Held by a `sess gc` run. */
  gc: 0x5e55_0003,
} as const

/**
 * How a write transaction starts on PostgreSQL: `BEGIN`, then the transaction-scoped advisory
 * lock {@link ADVISORY_KEYS.write}, held until commit or rollback. Writes of the store are thus
 * serialised store-wide as SQLite's `BEGIN IMMEDIATE` serialises them, so a check made inside one
 * (a name is free, fewer than `sessions.maxActive` sessions are active) still holds at its commit
 * under READ COMMITTED. (One simple-protocol query: both statements go in one round trip.)
 */
export const POSTGRES_BEGIN_WRITE = `begin; select pg_advisory_xact_lock(${ADVISORY_KEYS.write})`

/** Connections per pool: a CLI command needs one at a time, an application a few. */
const POOL_SIZE = 4

/** How long to wait for a connection to the server, ms. */
export const CONNECT_TIMEOUT_MS = 10_000

/** Whether `url` names a PostgreSQL server (`postgres://` or `postgresql://`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url)
}

/**
 * A `pg` pool on `url` whose 64-bit integers and numerics come back as JavaScript numbers (as
 * bun:sqlite returns them: every count, size and ms time of the store is below 2^53), with
 * `synchronous_commit` set for each of its connections.
 *
 * `synchronous_commit=off` is the counterpart of SQLite's `synchronous=NORMAL` for the lock-row
 * connection (see `SQLITE_RELAXED_SYNCHRONOUS`): a commit is atomic and visible at once, only a
 * crash of the server can lose its tail, and WAL order means that any later synchronous commit
 * (every content write is one) makes it durable first
 * (https://www.postgresql.org/docs/current/wal-async-commit.html).
 */
export function openPostgresPool(url: string, synchronousCommit: 'on' | 'off' = 'on'): pg.Pool {
  const pool = new pg.Pool({
    application_name: 'sess',
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    max: POOL_SIZE,
    options: `-c synchronous_commit=${synchronousCommit}`,
    types: {getTypeParser: typeParser},
  })
  // An idle connection that the server closes (restart, network) emits 'error' on the pool; the
  // next query gets a new connection or a clear error of its own, so nothing is lost by ignoring it.
  pool.on('error', () => undefined)
  // A connection lost while checked out (between the statements of a transaction) emits 'error' on
  // its client, which the pool does not listen to then: unheard, it would be an uncaught exception.
  // Its pending and next queries fail with a clear error of their own (see `postgresDialect`).
  pool.on('connect', (client) => client.on('error', () => undefined))
  return pool
}

const INT8 = 20
const NUMERIC = 1700

function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === INT8 || oid === NUMERIC) return Number
  return pg.types.getTypeParser(oid, format as 'text')
}

/** `url` without its password, for messages. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.password = ''
    return parsed.toString().replace(/:@/, '@')
  } catch {
    return 'the PostgreSQL URL (which does not parse)'
  }
}

/**
 * Whether `error` says that the server cannot be reached or went away (refused, reset, shut down,
 * timed out) rather than that a statement failed.
 */
export function isConnectionLoss(error: unknown): boolean {
  const {code, message} = error as {code?: string; message?: string}
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '08000', '08003', '08006'].includes(code ?? '') ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i.test(message ?? '')
  )
}

/**
 * The error for a PostgreSQL database that cannot be used at all: which problem (server not
 * answering, authentication, no such database, anything else) and its fix. A {@link StorageError}
 * is returned as is.
 * (SQLSTATE codes: https://www.postgresql.org/docs/current/errcodes-appendix.html)
 */
export function connectionFailure(error: unknown, url: string): StorageError {
  if (error instanceof StorageError) return error // reported already (see `postgresDialect`)
  const {code, message = String(error)} = error as {code?: string; message?: string}
  const where = describeUrl(url)
  const fix = 'Set SESS_DATABASE_URL (or `sess config set database.url`) to a postgres:// URL that works with psql.'
  if (code === '28P01' || code === '28000') {
    return new StorageError(`PostgreSQL refused the credentials for ${where}: ${message}`, {cause: error, hint: `Check the user and password in the URL. ${fix}`})
  }
  if (code === '3D000') {
    return new StorageError(`The database of ${where} does not exist: ${message}`, {cause: error, hint: `Create it first (createdb, or CREATE DATABASE); sess creates its tables, not the database. ${fix}`})
  }
  if (isConnectionLoss(error)) {
    return new StorageError(`Cannot reach the PostgreSQL server of ${where}: ${message}`, {cause: error, hint: `Check that the server runs and accepts TCP connections there. ${fix}`})
  }
  return new StorageError(`Cannot use the PostgreSQL database ${where}: ${message}`, {cause: error, hint: fix})
}

/**
 * The error for a connection that went away in the middle of a command (server stopped, killed or
 * restarted, network cut): {@link isConnectionLoss} holds for `error`. Whatever was being written
 * then is wholly committed or wholly absent (each write is one transaction).
 */
export function connectionLost(error: unknown, url: string): StorageError {
  const {message = String(error)} = error as {message?: string}
  return new StorageError(`Lost the connection to the PostgreSQL server of ${describeUrl(url)}: ${message}`, {
    cause: error,
    hint: 'Check that the server runs, then retry: a write it cut off is wholly there or wholly absent, and `sess doctor` checks the store.',
  })
}
