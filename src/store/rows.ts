import type {Selectable} from 'kysely'
import type {SessionsTable} from '../db/schema.ts'
import type {SessionStatus} from '../session/status.ts'
import type {Session, SessionMode} from '../session/types.ts'

/** Maps an index row (and its tags) to the public {@link Session} shape. */
export function toSession(row: Selectable<SessionsTable>, tags: string[]): Session {
  return {
    bytes: Number(row.bytes),
    closedAt: nullableNumber(row.closed_at),
    createdAt: Number(row.created_at),
    cwd: row.cwd,
    externalId: row.external_id,
    format: row.format,
    id: row.id,
    kind: row.kind,
    lastActivityAt: Number(row.last_activity_at),
    mode: row.mode as SessionMode,
    model: row.model,
    name: row.name,
    outputBytes: Number(row.output_bytes),
    owner: row.owner_host === null || row.owner_pid === null ? null : {host: row.owner_host, pid: Number(row.owner_pid), startTime: row.owner_start_time},
    parentId: row.parent_id,
    pinned: Number(row.pinned) === 1,
    provider: row.provider,
    recordCount: Number(row.record_count),
    status: row.status as SessionStatus,
    tags,
    title: row.title,
    tokens: nullableNumber(row.tokens),
    trashedAt: nullableNumber(row.trashed_at),
    versionCount: Number(row.version_count),
  }
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value)
}
