import type {Compilable, CompiledQuery, Kysely, QueryResult} from 'kysely'
import type {Database} from './schema.ts'

const PLACEHOLDER = '\u0000sess-parameter:'

type Slot = {name: string} | {value: unknown}

interface Compiled {
  query: CompiledQuery
  slots: Slot[]
}

/**
 * Queries compiled once and then executed with new values: Kysely otherwise builds and compiles
 * a query on every call (tens of µs), which would dominate the durable-append hot path.
 *
 * A query is built with `param(name)` placeholders where values go; its compiled SQL and the
 * position of each placeholder among the parameters are kept per key. Compiling stays Kysely's
 * (so the SQL is the dialect's own), only its repetition is saved. One cache serves one database.
 *
 * @example
 * ```ts
 * const prepared = new PreparedQueries()
 * await prepared.execute(db, 'touch', (param) =>
 *   db.updateTable('sessions').set({last_activity_at: param('now')}).where('id', '=', param('id')),
 *   {id, now: Date.now()})
 * ```
 */
export class PreparedQueries {
  readonly #compiled = new Map<string, Compiled>()

  /**
   * Executes the query `key` (built by `build` on first use) on `executor` (the database or a
   * transaction) with `values` bound to its placeholders.
   *
   * @throws whatever the query throws; an `Error` if `values` lacks a placeholder's name.
   */
  async execute<R>(
    executor: Kysely<Database>,
    key: string,
    build: (param: (name: string) => never) => Compilable<R>,
    values: Record<string, unknown>,
  ): Promise<QueryResult<R>> {
    let compiled = this.#compiled.get(key)
    if (!compiled) {
      const query = build((name) => `${PLACEHOLDER}${name}` as never).compile()
      const slots = query.parameters.map((value): Slot => (typeof value === 'string' && value.startsWith(PLACEHOLDER) ? {name: value.slice(PLACEHOLDER.length)} : {value}))
      compiled = {query, slots}
      this.#compiled.set(key, compiled)
    }
    const parameters = compiled.slots.map((slot) => {
      if ('value' in slot) return slot.value
      if (!(slot.name in values)) throw new Error(`prepared query ${key}: no value for ${slot.name}`)
      return values[slot.name]
    })
    return executor.executeQuery({...compiled.query, parameters} as CompiledQuery<R>)
  }
}
