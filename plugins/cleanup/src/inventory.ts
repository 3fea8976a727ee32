import {proofOfDeath} from '../../locking/src/liveness.ts'
import {staleReason} from '../../../src/lock/contention.ts'
import {describeHolder} from '../../../src/lock/describe.ts'
import {type LockRow} from '../../../src/lock/table.ts'
import {IN_USE_STATUSES} from '../../../src/session/status.ts'
import type {SessionOwner} from '../../../src/session/types.ts'
import {type BlobCodec, blobRefOf} from '../../../src/store/blob-store.ts'
import type {StoreContext} from '../../../src/store/context.ts'

/** A session as gc and doctor see it: index fields, tags, and its content's bytes. */
export interface SessionEntry {
  id: string
  name: string
  kind: string
  status: string
  tags: string[]
  lastActivityAt: number
  trashedAt: number | null
  pinned: boolean
  owner: SessionOwner | null
  versionCount: number
  recordCount: number
  outputBytes: number
  /** Bytes of content: every saved version (or the transcript's bytes when none), the output buffer and the snapshots. */
  bytes: number
}

/** A blob a row of the index names. */
export interface BlobRow {
  sessionId: string
  table: 'versions' | 'snapshots'
  /** Version or snapshot number. */
  seq: number
  blob: string
  /** SHA-256 and length of the original. */
  sha256: string
  bytes: number
  /** How the file is stored: `null` as written (not yet considered by compression), `identity` as is on purpose, or compressed. */
  codec: BlobCodec | null
  /** SHA-256 and length of the file as stored (the original's when stored as is). */
  storedSha256: string
  storedBytes: number
}

/** Everything gc and doctor read from the index, in a handful of queries (no content). */
export interface Inventory {
  /** Every session, live and trashed, by id. */
  sessions: Map<string, SessionEntry>
  /** Every blob the index names. */
  blobs: BlobRow[]
  /** Held locks (a lease set), each with why it is stale (`null`: held by a live, unexpired lease). */
  locks: {row: LockRow; stale: string | null}[]
}

/**
 * Reads the inventory of the store's index: sessions with their tags and bytes, the blobs rows
 * name, and the held locks with their staleness (`staleReason`: an expired lease, or a holder a
 * `lock.checking` handler proves dead).
 */
export async function readInventory(ctx: StoreContext): Promise<Inventory> {
  ctx.assertOpen()
  const [rows, tags, versions, snapshots, locks] = await Promise.all([
    ctx.db
      .selectFrom('sessions')
      .select(['id', 'name', 'kind', 'status', 'last_activity_at', 'trashed_at', 'pinned', 'owner_host', 'owner_pid', 'owner_start_time', 'version_count', 'record_count', 'bytes', 'output_bytes'])
      .execute(),
    ctx.db.selectFrom('session_tags').select(['session_id', 'tag']).orderBy('tag').execute(),
    ctx.db.selectFrom('versions').select(['session_id', 'version as seq', 'blob', 'sha256', 'bytes', 'codec', 'stored_bytes', 'stored_sha256']).execute(),
    ctx.db.selectFrom('snapshots').select(['session_id', 'seq', 'blob', 'sha256', 'bytes', 'codec', 'stored_bytes', 'stored_sha256']).execute(),
    ctx.db.selectFrom('locks').selectAll().where('lease_id', 'is not', null).execute(),
  ])
  const sessions = new Map<string, SessionEntry>()
  for (const row of rows) {
    sessions.set(row.id, {
      bytes: row.version_count > 0 ? 0 : Number(row.bytes),
      id: row.id,
      kind: row.kind,
      lastActivityAt: Number(row.last_activity_at),
      name: row.name,
      outputBytes: Number(row.output_bytes),
      owner: row.owner_host === null || row.owner_pid === null ? null : {host: row.owner_host, pid: Number(row.owner_pid), startTime: row.owner_start_time},
      pinned: Number(row.pinned) === 1,
      recordCount: Number(row.record_count),
      status: row.status,
      tags: [],
      trashedAt: row.trashed_at === null ? null : Number(row.trashed_at),
      versionCount: Number(row.version_count),
    })
  }
  for (const {session_id, tag} of tags) sessions.get(session_id)?.tags.push(tag)
  const blobs: BlobRow[] = []
  for (const [table, list] of [['versions', versions], ['snapshots', snapshots]] as const) {
    for (const row of list) {
      const entry = sessions.get(row.session_id)
      if (entry) entry.bytes += Number(row.bytes)
      const ref = blobRefOf(row)
      blobs.push({...ref, codec: ref.codec ?? null, seq: Number(row.seq), sessionId: row.session_id, storedBytes: ref.storedBytes ?? ref.bytes, storedSha256: ref.storedSha256 ?? ref.sha256, table})
    }
  }
  for (const entry of sessions.values()) entry.bytes += entry.outputBytes
  return {blobs, locks: await Promise.all(locks.map(async (row) => ({row, stale: await staleReason(ctx, row)}))), sessions}
}

/**
 * Why a session's owner is provably dead (same host: no such pid, the pid reused, another boot;
 * see the locking plugin's `proofOfDeath`), or `undefined` while it may be alive or is unknown.
 * Answers are cached per owner for one run.
 */
export function ownerDeath(owner: SessionOwner | null, cache: Map<string, string | undefined>): string | undefined {
  if (owner === null) return undefined
  const key = `${owner.host}\0${owner.pid}\0${owner.startTime ?? ''}`
  if (!cache.has(key)) cache.set(key, proofOfDeath({...owner, bootId: null})?.replace('its holder', 'its owner'))
  return cache.get(key)
}

/**
 * Why `entry` may never be collected, or `null`: pinned (in the index or by the policy), its lock
 * held by a live lease, or in use (`active`, `processing`, `waiting_for_input`) by an owner not
 * provably dead.
 */
export function protection(entry: SessionEntry, held: Map<string, LockRow>, pinnedRefs: ReadonlySet<string>, deaths: Map<string, string | undefined>): string | null {
  if (entry.pinned) return 'pinned'
  if (pinnedRefs.has(entry.id) || pinnedRefs.has(entry.name)) return 'pinned by the policy'
  return inUse(entry, held, deaths)
}

/**
 * Why `entry` is in use, or `null`: its lock held by a live lease, or `active`, `processing` or
 * `waiting_for_input` with an owner not provably dead.
 */
export function inUse(entry: SessionEntry, held: Map<string, LockRow>, deaths: Map<string, string | undefined>): string | null {
  const lock = held.get(entry.id)
  if (lock) return `locked by ${describeHolder(lock)}`
  if (IN_USE_STATUSES.has(entry.status) && ownerDeath(entry.owner, deaths) === undefined) {
    return entry.owner === null ? `${entry.status}, owner unknown` : `${entry.status}, its owner (pid ${entry.owner.pid} on ${entry.owner.host}) may be alive`
  }
  return null
}
