import type {Kysely} from 'kysely'
import type {Database} from '../db/schema.ts'
import type {EpochMs, SessionRecord} from '../session/types.ts'
import type {ParsedQuery} from './query.ts'

/** A record to index: where it is stored, and the record. */
export interface IndexEntry {
  sessionId: string
  seq: number
  record: SessionRecord
}

/** Which sessions a query looks in, and how many hits it returns. */
export interface IndexFilter {
  /** Only sessions of these kinds. */
  kinds?: readonly string[]
  /** Only sessions whose last activity is at or after this time. */
  since?: EpochMs
  /** Only this session (by id). */
  sessionId?: string
  /** Sessions in the trash too (default: live sessions only). */
  includeTrashed?: boolean
  /** At most this many hits (default: all). */
  limit?: number
}

/** A record that matched, as the index ranks it. */
export interface IndexHit {
  sessionId: string
  name: string
  kind: string
  seq: number
  /** How well it matched: higher is better (bm25 on SQLite). Compare within one result only. */
  score: number
  /** Whether it holds the whole query as one phrase (such hits come first). */
  exact: boolean
}

/**
 * The full-text index of transcripts: everything of full-text search that is SQL lives behind it,
 * one implementation per database (SQLite FTS5: `./sqlite-fts5.ts`; PostgreSQL `tsvector` would
 * be another). What is indexed of a record is `recordText()`.
 *
 * Writes take the caller's write transaction, so that the index commits (or rolls back) with the
 * records it describes: it never disagrees with them after a crash. An implementation must also
 * drop a session's entries when its `sessions` row is deleted (a purge), whoever deletes it.
 */
export interface SearchIndex {
  /** Indexes `entries` (records just inserted) inside the write transaction `trx`. */
  index(trx: Kysely<Database>, entries: readonly IndexEntry[]): Promise<void>
  /** Drops every entry of a session inside `trx` (before its records are replaced). */
  remove(trx: Kysely<Database>, sessionId: string): Promise<void>
  /**
   * The records matching every term of `query` in the sessions `filter` allows: the hits that
   * hold the whole query as a phrase first, then by relevance.
   */
  query(db: Kysely<Database>, query: ParsedQuery, filter: IndexFilter): Promise<IndexHit[]>
  /**
   * Drops the index (whatever state it is in) and indexes every stored record again, inside
   * `trx`.
   *
   * @returns the number of records indexed.
   */
  rebuild(trx: Kysely<Database>): Promise<number>
  /**
   * Checks the index: present, internally sound, and holding one entry per stored record.
   *
   * @returns what is wrong, one sentence each; empty when sound.
   */
  check(db: Kysely<Database>): Promise<string[]>
}
