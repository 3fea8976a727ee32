import {type AbortableOperationOptions, type CompiledQuery, type DatabaseConnection, type Driver, PostgresDialect, type QueryResult, type TransactionSettings} from 'kysely'
import type pg from 'pg'
import Cursor from 'pg-cursor'
import {connectionFailure, connectionLost, isConnectionLoss} from './postgres.ts'

/**
 * Kysely's `PostgresDialect` over a pool from `openPostgresPool`, streaming (transcripts,
 * rebuilds) through `pg-cursor`, whose every query reports a server it cannot reach or that went
 * away as a `StorageError` naming `url` (without its password) and the fix: a connection the pool
 * cannot open as {@link connectionFailure}, one lost mid-query as {@link connectionLost}. Other
 * errors (a constraint, a syntax error) stay as `pg` threw them, for the store to classify.
 */
export function postgresDialect(pool: pg.Pool, url: string): PostgresDialect {
  return new ReportingDialect(pool, url)
}

class ReportingDialect extends PostgresDialect {
  readonly #url: string

  constructor(pool: pg.Pool, url: string) {
    super({cursor: Cursor, pool})
    this.#url = url
  }

  override createDriver(): Driver {
    return new ReportingDriver(super.createDriver(), this.#url)
  }
}

/** Kysely's Postgres driver with its errors reported (see {@link postgresDialect}); connections are wrapped, and unwrapped for the driver. */
class ReportingDriver implements Driver {
  readonly #driver: Driver
  readonly #url: string
  readonly #inner = new WeakMap<DatabaseConnection, DatabaseConnection>()

  constructor(driver: Driver, url: string) {
    this.#driver = driver
    this.#url = url
  }

  init(options?: AbortableOperationOptions): Promise<void> {
    return this.#driver.init(options)
  }

  async acquireConnection(options?: AbortableOperationOptions): Promise<DatabaseConnection> {
    let connection: DatabaseConnection
    try {
      connection = await this.#driver.acquireConnection(options)
    } catch (error) {
      throw connectionFailure(error, this.#url)
    }
    const reporting = new ReportingConnection(connection, this.#url)
    this.#inner.set(reporting, connection)
    return reporting
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return reported(this.#url, () => this.#driver.beginTransaction(this.#unwrap(connection), settings))
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return reported(this.#url, () => this.#driver.commitTransaction(this.#unwrap(connection)))
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return reported(this.#url, () => this.#driver.rollbackTransaction(this.#unwrap(connection)))
  }

  releaseConnection(connection: DatabaseConnection, options?: AbortableOperationOptions): Promise<void> {
    return this.#driver.releaseConnection(this.#unwrap(connection), options)
  }

  destroy(options?: AbortableOperationOptions): Promise<void> {
    return this.#driver.destroy(options)
  }

  #unwrap(connection: DatabaseConnection): DatabaseConnection {
    return this.#inner.get(connection) ?? connection
  }
}

class ReportingConnection implements DatabaseConnection {
  readonly #connection: DatabaseConnection
  readonly #url: string

  constructor(connection: DatabaseConnection, url: string) {
    this.#connection = connection
    this.#url = url
  }

  executeQuery<R>(query: CompiledQuery, options?: AbortableOperationOptions): Promise<QueryResult<R>> {
    return reported(this.#url, () => this.#connection.executeQuery<R>(query, options))
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize: number, options?: AbortableOperationOptions): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.#connection.streamQuery<R>(query, chunkSize, options)
    } catch (error) {
      throw report(error, this.#url)
    }
  }
}

async function reported<T>(url: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw report(error, url)
  }
}

function report(error: unknown, url: string): unknown {
  return isConnectionLoss(error) ? connectionLost(error, url) : error
}
