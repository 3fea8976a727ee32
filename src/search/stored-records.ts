import type {Kysely} from 'kysely'
import type {Database} from '../db/schema.ts'
import type {SessionRecord} from '../session/types.ts'
import type {IndexEntry} from './search-index.ts'

/** Records read per page when every stored record is indexed again. */
const PAGE = 2_000

/**
 * Hands every stored record to `index`, a page at a time in (session, seq) order, as a rebuild of
 * a full-text index needs them. A row whose body does not parse is handed over as an event
 * without text, so that it is still counted.
 *
 * @returns the number of records handed over.
 */
export async function forEachStoredRecord(trx: Kysely<Database>, index: (entries: IndexEntry[]) => Promise<void>): Promise<number> {
  let indexed = 0
  let last: {session_id: string; seq: number} | undefined
  for (;;) {
    const page = await trx
      .selectFrom('records')
      .select(['session_id', 'seq', 'body'])
      .$if(last !== undefined, (q) => q.where((eb) => eb(eb.refTuple('session_id', 'seq'), '>', eb.tuple(last!.session_id, last!.seq))))
      .orderBy('session_id')
      .orderBy('seq')
      .limit(PAGE)
      .execute()
    await index(page.map((row) => ({record: parseBody(row.body), sessionId: row.session_id, seq: Number(row.seq)})))
    indexed += page.length
    if (page.length < PAGE) return indexed
    last = page.at(-1)!
  }
}

function parseBody(body: string): SessionRecord {
  try {
    return JSON.parse(body) as SessionRecord
  } catch {
    return {data: null, name: '', type: 'event'}
  }
}
