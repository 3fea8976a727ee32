import {type Kysely, type RawBuilder, sql} from 'kysely'
import {PreparedQueries} from '../db/prepared.ts'
import type {Database} from '../db/schema.ts'
import {StorageError} from '../errors/index.ts'
import type {ParsedQuery} from './query.ts'
import type {IndexEntry, IndexFilter, IndexHit, SearchIndex} from './search-index.ts'
import {forEachStoredRecord} from './stored-records.ts'
import {recordText} from './text.ts'

/** Rows per multi-row INSERT. */
const BATCH = 200
/** A limited query first looks at this many times `limit` best-ranked matches, and at least {@link MIN_CANDIDATES}. */
const OVERSAMPLE = 10
const MIN_CANDIDATES = 200

/**
 * The index's tables, made by {@link SqliteFts5Index.rebuild}:
 * - `search_docs`: one row per record (`session_id`, `seq`), whose `id` is the record's rowid in
 *   `search_fts` (a table of its own, because the `records` table's implicit rowids may change on
 *   VACUUM). It references its session with `on delete cascade`.
 * - `search_fts`: a contentless FTS5 table (https://sqlite.org/fts5.html#contentless_tables) that
 *   keeps the index of each record's text, not the text (snippets are made from the record);
 *   `contentless_delete=1` lets rows be deleted by rowid. The tokenizer is `unicode61` with
 *   `remove_diacritics 2` (https://sqlite.org/fts5.html#unicode61_tokenizer): Unicode letters and
 *   digits, case folded, diacritics removed.
 * - the trigger `search_docs_delete` deletes a row's text from `search_fts` with its
 *   `search_docs` row, so the cascade of a purge (by any path) empties both.
 */
const DDL = [
  'drop trigger if exists search_docs_delete',
  'drop table if exists search_fts',
  'drop table if exists search_docs',
  'create table search_docs (id integer primary key, session_id text not null references sessions (id) on delete cascade, seq integer not null)',
  'create unique index search_docs_record on search_docs (session_id, seq)',
  "create virtual table search_fts using fts5 (text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2')",
  'create trigger search_docs_delete after delete on search_docs begin delete from search_fts where rowid = old.id; end',
]

/** Tables and trigger the index needs; missing ones make it unusable. */
const PARTS = ['search_docs', 'search_docs_delete', 'search_fts']

/**
 * The full-text index on SQLite FTS5 (see {@link SearchIndex} and {@link DDL}). Queries are
 * compiled to FTS5 query syntax with every term a quoted string, so no user text is ever an FTS5
 * operator; ranking is FTS5's `bm25()`.
 */
export class SqliteFts5Index implements SearchIndex {
  readonly #prepared = new PreparedQueries()
  readonly #oversample: number
  readonly #minCandidates: number

  /**
   * With a limit (and no session filter), the hits are found among the best `limit × oversample`
   * records by rank, and at least `minCandidates` ({@link #candidates}), which FTS5 picks without
   * joining every match; only when that cannot be shown to give the same hits as ranking every
   * match ({@link #full}) is the full query run.
   */
  constructor(options: {oversample?: number; minCandidates?: number} = {}) {
    this.#oversample = options.oversample ?? OVERSAMPLE
    this.#minCandidates = options.minCandidates ?? MIN_CANDIDATES
  }

  async index(trx: Kysely<Database>, entries: readonly IndexEntry[]): Promise<void> {
    try {
      if (entries.length === 1) return await this.#indexOne(trx, entries[0]!)
      for (let start = 0; start < entries.length; start += BATCH) {
        const batch = entries.slice(start, start + BATCH)
        const docs = await trx
          .insertInto('search_docs')
          .values(batch.map((e) => ({seq: e.seq, session_id: e.sessionId})))
          .returning(['id', 'session_id', 'seq'])
          .execute()
        const ids = new Map(docs.map((doc) => [`${doc.session_id}\u0000${doc.seq}`, doc.id]))
        await trx
          .insertInto('search_fts')
          .values(batch.map((e) => ({rowid: ids.get(`${e.sessionId}\u0000${e.seq}`)!, text: recordText(e.record)})))
          .execute()
      }
    } catch (error) {
      throw unusable(error)
    }
  }

  /** The append path: two statements compiled once. */
  async #indexOne(trx: Kysely<Database>, entry: IndexEntry): Promise<void> {
    const doc = await this.#prepared.execute(
      trx,
      'search.doc',
      (param) => trx.insertInto('search_docs').values({seq: param('seq'), session_id: param('id')}).returning('id'),
      {id: entry.sessionId, seq: entry.seq},
    )
    await this.#prepared.execute(trx, 'search.fts', (param) => trx.insertInto('search_fts').values({rowid: param('rowid'), text: param('text')}), {
      rowid: doc.rows[0]!.id,
      text: recordText(entry.record),
    })
  }

  async remove(trx: Kysely<Database>, sessionId: string): Promise<void> {
    try {
      await trx.deleteFrom('search_docs').where('session_id', '=', sessionId).execute()
    } catch (error) {
      throw unusable(error)
    }
  }

  async query(db: Kysely<Database>, query: ParsedQuery, filter: IndexFilter): Promise<IndexHit[]> {
    try {
      if (filter.limit !== undefined && filter.sessionId === undefined) {
        const hits = await this.#candidates(db, query, filter, filter.limit)
        if (hits) return hits
      }
      return await this.#full(db, query, filter)
    } catch (error) {
      throw unusable(error)
    }
  }

  /** Every match ranked: the hits that hold the whole query as a phrase first, then by rank. */
  async #full(db: Kysely<Database>, query: ParsedQuery, filter: IndexFilter): Promise<IndexHit[]> {
    // A query of one term is its own phrase: every hit is exact.
    const exact: RawBuilder<number> = query.terms.length === 1 ? sql`1` : sql`search_fts.rowid in (select rowid from search_fts where search_fts match ${fts5String(query.phrase)})`
    const where: RawBuilder<unknown>[] = [sql`search_fts match ${matchOf(query)}`, ...filterConditions(filter)]
    if (filter.sessionId !== undefined) where.push(sql`sessions.id = ${filter.sessionId}`)
    const {rows} = await sql<{session_id: string; name: string; kind: string; seq: number; rank: number; exact: number}>`
      select search_docs.session_id, sessions.name, sessions.kind, search_docs.seq, search_fts.rank, ${exact} as exact
      from search_fts
      join search_docs on search_docs.id = search_fts.rowid
      join sessions on sessions.id = search_docs.session_id
      where ${sql.join(where, sql` and `)}
      order by exact desc, search_fts.rank
      limit ${filter.limit ?? -1}`.execute(db)
    return rows.map((row) => toHit(row, row.exact === 1))
  }

  /**
   * The first `limit` hits found among the `limit × oversample` best-ranked matches, and for a
   * query of several terms among as many of the best-ranked phrase hits too, filtered and ordered
   * as {@link #full} would; `undefined` when some match left out could belong in the result (a
   * filter left too few of them), and every match must be ranked. SQLite's sorter keeps only the
   * best rows of an `order by … limit`, so no match is joined to its session but these.
   */
  async #candidates(db: Kysely<Database>, query: ParsedQuery, filter: IndexFilter, limit: number): Promise<IndexHit[] | undefined> {
    const size = Math.max(limit * this.#oversample, this.#minCandidates, 1)
    const best = (only?: RawBuilder<unknown>) => this.#best(db, matchOf(query), only, filter, size)
    // A query of one term is its own phrase: every hit is exact.
    // `+rowid`: not a rowid lookup into the index per phrase hit (each running the match again), but a filter of one scan.
    const exact = query.terms.length === 1 ? await best() : await best(sql`+rowid in (select rowid from search_fts where search_fts match ${fts5String(query.phrase)})`)
    const exactComplete = exact.length < size
    const exactBound = exact.at(-1)?.rank ?? 0
    // A match left out ranks at or after the bound of its list; one tied with it may be either side, so is never trusted.
    if (!exactComplete) {
      const top = exact.filter((row) => row.allowed === 1).slice(0, limit)
      return top.length === limit && top.every((row) => row.rank < exactBound) ? top.map((row) => toHit(row, true)) : undefined
    }
    if (query.terms.length === 1) return exact.filter((row) => row.allowed === 1).slice(0, limit).map((row) => toHit(row, true))
    // Every phrase hit is known: the others follow them.
    const exactIds = new Set(exact.map((row) => row.id))
    const others = await best()
    const othersComplete = others.length < size
    const othersBound = others.at(-1)?.rank ?? 0
    const top = [...exact.map((row) => ({exact: true, row})), ...others.filter((row) => !exactIds.has(row.id)).map((row) => ({exact: false, row}))]
      .filter(({row}) => row.allowed === 1)
      .slice(0, limit)
    if (!othersComplete && (top.length < limit || top.some(({exact, row}) => !exact && row.rank >= othersBound))) return undefined
    return top.map(({exact, row}) => toHit(row, exact))
  }

  /**
   * The best `size` matches of `match` (and `only`) by rank, each with its session and whether
   * `filter` allows it (rank is `bm25()`, which the `rank` column is by default; computed in the
   * query so that `only` is applied first).
   */
  async #best(db: Kysely<Database>, match: string, only: RawBuilder<unknown> | undefined, filter: IndexFilter, size: number) {
    const {rows} = await sql<{id: number; session_id: string; name: string; kind: string; seq: number; rank: number; allowed: number}>`
      with candidates as materialized (
        select rowid, bm25(search_fts) as rank from search_fts where search_fts match ${match} ${only ? sql`and ${only}` : sql``} order by rank limit ${size})
      select candidates.rowid as id, search_docs.session_id, sessions.name, sessions.kind, search_docs.seq, candidates.rank,
        ${sql.join([sql`sessions.id is not null`, ...filterConditions(filter)], sql` and `)} as allowed
      from candidates
      left join search_docs on search_docs.id = candidates.rowid
      left join sessions on sessions.id = search_docs.session_id
      order by candidates.rank`.execute(db)
    return rows.map((row) => ({...row, id: Number(row.id)}))
  }

  async rebuild(trx: Kysely<Database>): Promise<number> {
    for (const statement of DDL) await sql.raw(statement).execute(trx)
    return forEachStoredRecord(trx, (entries) => this.index(trx, entries))
  }

  async check(db: Kysely<Database>): Promise<string[]> {
    const present = await sql<{name: string}>`select name from sqlite_master where name in (${sql.join(PARTS)})`.execute(db)
    const missing = PARTS.filter((part) => !present.rows.some((row) => row.name === part))
    if (missing.length > 0) return [`The search index is missing (no ${missing.join(', ')} in the database).`]
    try {
      // https://sqlite.org/fts5.html#the_integrity_check_command: reads the whole index, changes nothing.
      await sql`insert into search_fts (search_fts) values ('integrity-check')`.execute(db)
      const {rows} = await sql<{records: number; docs: number; texts: number}>`
        select (select count(*) from records) as records, (select count(*) from search_docs) as docs, (select count(*) from search_fts_docsize) as texts`.execute(db)
      const {docs, records, texts} = rows[0]!
      if (docs === records && texts === records) return []
      return [`The search index is out of date: ${records} records, ${docs} index entries, ${texts} indexed texts.`]
    } catch (error) {
      return [`The search index is corrupt: ${(error as Error).message}.`]
    }
  }
}

/** The FTS5 query of `query`: every term, as a string, must match. */
function matchOf(query: ParsedQuery): string {
  return query.terms.map((term) => fts5String(term.words)).join(' AND ')
}

/** The conditions on `sessions` of `filter`, but its session (which {@link SqliteFts5Index.query} leaves to the full query). */
function filterConditions(filter: IndexFilter): RawBuilder<unknown>[] {
  const where: RawBuilder<unknown>[] = []
  if (!filter.includeTrashed) where.push(sql`sessions.trashed_at is null`)
  if (filter.kinds?.length) where.push(sql`sessions.kind in (${sql.join(filter.kinds)})`)
  if (filter.since !== undefined) where.push(sql`sessions.last_activity_at >= ${filter.since}`)
  return where
}

function toHit(row: {session_id: string; name: string; kind: string; seq: number; rank: number}, exact: boolean): IndexHit {
  return {exact, kind: row.kind, name: row.name, score: -row.rank, seq: Number(row.seq), sessionId: row.session_id}
}

/**
 * `words` as one FTS5 string (https://sqlite.org/fts5.html#fts5_strings): inside double quotes,
 * a double quote doubled, nothing else special. A string of several words is a phrase.
 */
function fts5String(words: readonly string[]): string {
  return `"${words.join(' ').replaceAll('"', '""')}"`
}

/** A failure of the index's own tables as a {@link StorageError} naming the fix; any other failure as it is. */
function unusable(error: unknown): unknown {
  if (!/search_|fts5|malformed|corrupt/i.test(String((error as Error)?.message))) return error
  return new StorageError(`The search index cannot be used: ${(error as Error).message}`, {
    cause: error,
    hint: 'Check it and rebuild it with `sess doctor --fix`.',
  })
}
