import {InvalidInputError} from '../errors/index.ts'
import type {EpochMs, SessionRecord} from '../session/types.ts'
import type {StoreContext} from '../store/context.ts'
import {foldedWords, parseQuery} from './query.ts'
import type {IndexHit} from './search-index.ts'
import {snippet} from './snippet.ts'
import {recordText} from './text.ts'

/** Hits returned when no limit is given. */
export const DEFAULT_SEARCH_LIMIT = 20

/** Options of `store.search()`. */
export interface SearchOptions {
  /** Only sessions of this kind (or of any of these kinds). */
  kind?: string | readonly string[]
  /** Only sessions whose last activity is at or after this time (ms since the epoch). */
  since?: EpochMs
  /** Only this session (id or name). */
  session?: string
  /** At most this many hits (default {@link DEFAULT_SEARCH_LIMIT}); `0` for all. */
  limit?: number
  /** Search sessions in the trash too (default: live sessions only). */
  includeTrashed?: boolean
}

/** A record that matched a search (also the `sess search --json` shape). */
export interface SearchHit {
  /** 1-based position in the results. */
  rank: number
  sessionId: string
  /** The session's name and kind. */
  name: string
  kind: string
  /** The record's sequence number in its transcript (`store.records(ref, {after: seq - 1})`, `sess show NAME --from SEQ`). */
  seq: number
  /** The record's type (`message`, `tool_call`, `tool_result`, `marker`, `event`, `state`). */
  type: SessionRecord['type']
  /** The author of a message (`user`, `assistant`…); `null` for other records. */
  role: string | null
  /** The tool of a `tool_call`; `null` for other records. */
  tool: string | null
  /** When the record happened (ms since the epoch), if known. */
  ts: EpochMs | null
  /** The matching piece of the record's text, on one line; `…` where text was left out. */
  snippet: string
  /** The matched words in `snippet`: `[start, end)` offsets in UTF-16 code units. */
  highlights: Array<[number, number]>
  /** Relevance (bm25 on SQLite): higher is better; only comparable within one search. */
  score: number
  /** Whether the record holds the whole query as one phrase: such hits come first. */
  exact: boolean
}

/** Hits whose records are read per query. */
const READ_BATCH = 200

/** See `Store.search`. */
export async function searchRecords(ctx: StoreContext, query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  ctx.assertOpen()
  const parsed = parseQuery(query)
  const limit = options.limit ?? DEFAULT_SEARCH_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidInputError(`The limit must be a whole number ≥ 0, not ${limit}.`)
  if (options.since !== undefined && !Number.isFinite(options.since)) throw new InvalidInputError(`since must be a time in ms since the epoch, not ${options.since}.`)
  const kinds = options.kind === undefined ? undefined : typeof options.kind === 'string' ? [options.kind] : [...options.kind]
  const sessionId = options.session === undefined ? undefined : (await ctx.row(options.session, options.includeTrashed)).id
  const found = await ctx.search.query(ctx.db, parsed, {includeTrashed: options.includeTrashed, kinds, limit: limit === 0 ? undefined : limit, sessionId, since: options.since})
  const wanted = foldedWords(parsed)
  const hits: SearchHit[] = []
  for (let start = 0; start < found.length; start += READ_BATCH) {
    const batch = found.slice(start, start + READ_BATCH)
    const rows = await ctx.db
      .selectFrom('records')
      .select(['session_id', 'seq', 'ts', 'body'])
      .where((eb) => eb.or(batch.map((hit) => eb.and([eb('session_id', '=', hit.sessionId), eb('seq', '=', hit.seq)]))))
      .execute()
    const bodies = new Map(rows.map((row) => [`${row.session_id}\u0000${row.seq}`, row]))
    for (const hit of batch) {
      const row = bodies.get(`${hit.sessionId}\u0000${hit.seq}`)
      if (row) hits.push(toHit(hit, JSON.parse(row.body) as SessionRecord, row.ts === null ? null : Number(row.ts), wanted, hits.length + 1))
    }
  }
  return hits
}

function toHit(hit: IndexHit, record: SessionRecord, ts: EpochMs | null, wanted: ReadonlySet<string>, rank: number): SearchHit {
  const {highlights, text} = snippet(recordText(record), wanted)
  // In the documented order of `sess search --json`.
  return {
    rank,
    sessionId: hit.sessionId,
    name: hit.name,
    kind: hit.kind,
    seq: hit.seq,
    type: record.type,
    role: record.type === 'message' ? record.role : null,
    tool: record.type === 'tool_call' ? record.name : null,
    ts,
    snippet: text,
    highlights,
    score: hit.score,
    exact: hit.exact,
  }
}
