import {type Kysely, sql} from 'kysely'
import type {Database} from '../db/schema.ts'
import {StorageError} from '../errors/index.ts'
import type {ParsedQuery} from './query.ts'
import type {IndexEntry, IndexFilter, IndexHit, SearchIndex} from './search-index.ts'
import {forEachStoredRecord} from './stored-records.ts'
import {foldWord, recordText, words} from './text.ts'

/** Rows per multi-row INSERT. */
const BATCH = 200

/**
 * UTF-8 bytes of lexemes kept per record: PostgreSQL refuses a `tsvector` over 1 MiB
 * (https://www.postgresql.org/docs/current/textsearch-limitations.html); the words after these
 * are not indexed (a record that long is found by its first ~100k words).
 */
const MAX_TSVECTOR_BYTES = 512 * 1024

/**
 * The longest lexeme PostgreSQL takes, in UTF-8 bytes: "lexemes must be less than 2 kilobytes"
 * (same page); a longer one fails with "word is too long (… bytes, max 2046 bytes)". A longer word
 * is indexed, and searched for, by its first 2046 bytes: it is found, and so are the words that
 * share those bytes with it.
 */
const MAX_LEXEME_BYTES = 2046

/**
 * The full-text index on PostgreSQL: a table `search_docs (session_id, seq, tsv)` with a GIN index
 * on `tsv`, one row per record, deleted with its session by `on delete cascade`.
 *
 * The `tsvector` and `tsquery` values are written as literals of their own syntax
 * (https://www.postgresql.org/docs/current/datatype-textsearch.html), every lexeme quoted, from
 * the words `words()` finds and `foldWord()` folds: PostgreSQL's parser and dictionaries are
 * never used, so the index splits and folds text exactly as the SQLite FTS5 index does, and no
 * user text is ever an operator. Phrases match by position (`<->`); ranking is `ts_rank`.
 */
export class PostgresFullTextIndex implements SearchIndex {
  async index(trx: Kysely<Database>, entries: readonly IndexEntry[]): Promise<void> {
    try {
      for (let start = 0; start < entries.length; start += BATCH) {
        const rows = entries.slice(start, start + BATCH).map((e) => sql`(${e.sessionId}, ${e.seq}, ${tsvectorLiteral(recordText(e.record))}::tsvector)`)
        await sql`insert into search_docs (session_id, seq, tsv) values ${sql.join(rows)}`.execute(trx)
      }
    } catch (error) {
      throw unusable(error)
    }
  }

  async remove(trx: Kysely<Database>, sessionId: string): Promise<void> {
    try {
      await sql`delete from search_docs where session_id = ${sessionId}`.execute(trx)
    } catch (error) {
      throw unusable(error)
    }
  }

  async query(db: Kysely<Database>, query: ParsedQuery, filter: IndexFilter): Promise<IndexHit[]> {
    const match = query.terms.map((term) => phraseLiteral(term.words)).join(' & ')
    const where = [sql`d.tsv @@ q.match`]
    if (!filter.includeTrashed) where.push(sql`s.trashed_at is null`)
    if (filter.kinds?.length) where.push(sql`s.kind in (${sql.join(filter.kinds)})`)
    if (filter.since !== undefined) where.push(sql`s.last_activity_at >= ${filter.since}`)
    if (filter.sessionId !== undefined) where.push(sql`s.id = ${filter.sessionId}`)
    try {
      const {rows} = await sql<{session_id: string; name: string; kind: string; seq: number; rank: number; exact: boolean}>`
        select d.session_id, s.name, s.kind, d.seq, ts_rank(d.tsv, q.match) as rank, d.tsv @@ q.phrase as exact
        from (select ${match}::tsquery as match, ${phraseLiteral(query.phrase)}::tsquery as phrase) as q
        cross join search_docs as d
        join sessions as s on s.id = d.session_id
        where ${sql.join(where, sql` and `)}
        order by exact desc, rank desc, d.session_id, d.seq
        ${filter.limit === undefined ? sql`` : sql`limit ${filter.limit}`}`.execute(db)
      return rows.map((row) => ({exact: row.exact, kind: row.kind, name: row.name, score: row.rank, seq: Number(row.seq), sessionId: row.session_id}))
    } catch (error) {
      throw unusable(error)
    }
  }

  async rebuild(trx: Kysely<Database>): Promise<number> {
    await sql`drop table if exists search_docs`.execute(trx)
    await sql`create table search_docs (session_id text not null references sessions (id) on delete cascade, seq integer not null, tsv tsvector not null, primary key (session_id, seq))`.execute(trx)
    await sql`create index search_docs_tsv on search_docs using gin (tsv)`.execute(trx)
    return forEachStoredRecord(trx, (entries) => this.index(trx, entries))
  }

  async check(db: Kysely<Database>): Promise<string[]> {
    const {rows: present} = await sql<{tsv: boolean}>`
      select exists (select 1 from information_schema.columns where table_schema = current_schema() and table_name = 'search_docs' and column_name = 'tsv') as tsv`.execute(db)
    if (!present[0]?.tsv) return ['The search index is missing (no search_docs table with a tsv column in the database).']
    try {
      const {rows} = await sql<{records: number; docs: number; orphans: number}>`
        select (select count(*) from records) as records, (select count(*) from search_docs) as docs,
          (select count(*) from search_docs d where not exists (select 1 from records r where r.session_id = d.session_id and r.seq = d.seq)) as orphans`.execute(db)
      const {docs, orphans, records} = rows[0]!
      if (docs === records && orphans === 0) return []
      return [`The search index is out of date: ${records} records, ${docs} index entries (${orphans} of no record).`]
    } catch (error) {
      return [`The search index is corrupt: ${(error as Error).message}.`]
    }
  }
}

/** A quoted lexeme of the `tsvector`/`tsquery` syntax: in single quotes, `'` and `\` escaped by doubling and a backslash. */
function lexeme(word: string): string {
  return `'${word.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`
}

/** The `tsvector` literal of `text`: each folded word with its position (1-based; PostgreSQL caps positions at 16383). */
function tsvectorLiteral(text: string): string {
  const parts: string[] = []
  let bytes = 0
  let position = 0
  for (const {word} of words(text)) {
    const folded = lexemeOf(word)
    bytes += Buffer.byteLength(folded)
    if (bytes > MAX_TSVECTOR_BYTES) break
    parts.push(`${lexeme(folded)}:${Math.min(++position, 16_383)}`)
  }
  return parts.join(' ')
}

/** The `tsquery` literal of `words` as a phrase: `'a' <-> 'b'`, in parentheses. */
function phraseLiteral(phrase: readonly string[]): string {
  return `(${phrase.map((word) => lexeme(lexemeOf(word))).join(' <-> ')})`
}

/** `word` folded (`foldWord`), and cut to its first {@link MAX_LEXEME_BYTES} bytes (whole characters). */
function lexemeOf(word: string): string {
  const folded = foldWord(word)
  if (folded.length * 3 <= MAX_LEXEME_BYTES || Buffer.byteLength(folded) <= MAX_LEXEME_BYTES) return folded
  let bytes = 0
  let end = 0
  for (const char of folded) {
    bytes += Buffer.byteLength(char)
    if (bytes > MAX_LEXEME_BYTES) break
    end += char.length
  }
  return folded.slice(0, end)
}

/** A failure of the index's own table as a {@link StorageError} naming the fix; any other failure as it is. */
function unusable(error: unknown): unknown {
  if (!/search_docs|tsvector|tsquery/i.test(String((error as Error)?.message))) return error
  return new StorageError(`The search index cannot be used: ${(error as Error).message}`, {
    cause: error,
    hint: 'Check it and rebuild it with `sess doctor --fix`.',
  })
}
