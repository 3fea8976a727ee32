import type {SelectQueryBuilder} from 'kysely'
import type {Database} from '../db/schema.ts'
import type {SessionStatus} from '../session/status.ts'
import type {EpochMs} from '../session/types.ts'

/** Filters of `store.list()` and `sess list`. Every field is optional; all given ones must match. */
export interface ListFilter {
  /** Any of these statuses. */
  status?: SessionStatus[]
  /** Any of these kinds. */
  kind?: string[]
  /** All of these tags. */
  tags?: string[]
  /** Last activity at or after this time (ms). */
  since?: EpochMs
  /** Last activity before this time (ms). */
  until?: EpochMs
  /** Shell glob on the name: `*` any run, `?` one character (case-sensitive). */
  name?: string
  /** List the trash instead of live sessions. */
  trashed?: boolean
  /** At most this many, newest first. */
  limit?: number
}

/**
 * Applies `filter` to a query over `sessions`: index columns only, never content. Portable SQL
 * (the glob is matched with LIKE, then re-checked exactly by the caller where LIKE is looser).
 */
export function applyListFilter<O>(
  query: SelectQueryBuilder<Database, 'sessions', O>,
  filter: ListFilter,
): SelectQueryBuilder<Database, 'sessions', O> {
  let q = query.where('sessions.trashed_at', filter.trashed ? 'is not' : 'is', null)
  if (filter.status?.length) q = q.where('sessions.status', 'in', filter.status)
  if (filter.kind?.length) q = q.where('sessions.kind', 'in', filter.kind)
  if (filter.since !== undefined) q = q.where('sessions.last_activity_at', '>=', filter.since)
  if (filter.until !== undefined) q = q.where('sessions.last_activity_at', '<', filter.until)
  if (filter.name !== undefined) q = q.where('sessions.name', 'like', globToLike(filter.name))
  for (const tag of filter.tags ?? []) {
    q = q.where(({exists, selectFrom}) =>
      exists(
        selectFrom('session_tags')
          .select('session_tags.tag')
          .whereRef('session_tags.session_id', '=', 'sessions.id')
          .where('session_tags.tag', '=', tag),
      ),
    )
  }
  return q.orderBy('sessions.last_activity_at', 'desc').orderBy('sessions.id', 'desc')
}

/**
 * A LIKE pattern matching at least every name the glob matches: the glob's literal prefix, then
 * anything. (Names never hold `%`; a `_` in the prefix only widens the match.)
 */
function globToLike(glob: string): string {
  const prefix = glob.split(/[*?[{\\]/, 1)[0] ?? ''
  return `${prefix.replaceAll('%', '')}%`
}

/** Exact, case-sensitive shell-glob match of a name. */
export function globMatches(glob: string, name: string): boolean {
  return new Bun.Glob(glob).match(name)
}
