import {staleReason} from '../../../src/lock/contention.ts'
import type {StoreContext} from '../../../src/store/context.ts'
import type {StoreLayout} from '../../../src/store/home.ts'
import {contentSource} from './content/source.ts'
import {databaseBytes} from './database.ts'

/** What `store.stats()` reports (`sess stats`). Sizes are bytes. */
export interface StoreStats {
  sessions: {
    /** Sessions outside the trash. */
    live: number
    /** Live sessions by status and by kind. */
    byStatus: Record<string, number>
    byKind: Record<string, number>
    pinned: number
  }
  /** Transcript records of live sessions. */
  records: number
  /** Bytes of live sessions' content as the index counts it: saved originals (every version) or transcripts, plus snapshots. */
  contentBytes: number
  /** Bytes held in live sessions' output buffers. */
  outputBytes: number
  trash: {sessions: number; bytes: number}
  quarantine: {batches: number; bytes: number}
  /** Held locks, and how many of them are stale (lease expired, or holder provably dead). */
  locks: {held: number; stale: number}
  /**
   * The blobs the index names (saved originals and snapshots, live and trashed sessions): how
   * many, how many of them compressed, their bytes before compression (logical) and as stored.
   */
  blobs: {count: number; compressed: number; bytes: number; storedBytes: number}
  /**
   * Stored: the database (SQLite: the file with its WAL; PostgreSQL: `pg_database_size`, which
   * holds the content too) and the blobs as stored (compressed or not; litter included, the
   * quarantine not: files under the home, or the chunks of `blob_chunks` on PostgreSQL).
   */
  disk: {database: number; blobs: number}
}

/** See `Store.stats`: aggregates of the index (a few queries) and the sizes of the database and the stored blobs. */
export async function storeStats(ctx: StoreContext, layout: StoreLayout): Promise<StoreStats> {
  ctx.assertOpen()
  const content = contentSource(ctx, layout, ctx.now())
  const [byStatus, byKind, totals, trash, versions, snapshots, locks, stored, quarantine, storedBlobBytes, database] = await Promise.all([
    ctx.db.selectFrom('sessions').select(['status', (eb) => eb.fn.countAll().as('n')]).where('trashed_at', 'is', null).groupBy('status').orderBy('status').execute(),
    ctx.db.selectFrom('sessions').select(['kind', (eb) => eb.fn.countAll().as('n')]).where('trashed_at', 'is', null).groupBy('kind').orderBy('kind').execute(),
    ctx.db
      .selectFrom('sessions')
      .select((eb) => [
        eb.fn.countAll().as('n'),
        eb.fn.sum('record_count').as('records'),
        eb.fn.sum(eb.case().when('version_count', '=', 0).then(eb.ref('bytes')).else(0).end()).as('native'),
        eb.fn.sum('output_bytes').as('output'),
        eb.fn.sum('pinned').as('pinned'),
      ])
      .where('trashed_at', 'is', null)
      .executeTakeFirstOrThrow(),
    ctx.db
      .selectFrom('sessions')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum(eb.case().when('version_count', '=', 0).then(eb.ref('bytes')).else(0).end()).as('native'), eb.fn.sum('output_bytes').as('output')])
      .where('trashed_at', 'is not', null)
      .executeTakeFirstOrThrow(),
    blobBytes(ctx, 'versions'),
    blobBytes(ctx, 'snapshots'),
    ctx.db.selectFrom('locks').selectAll().where('lease_id', 'is not', null).execute(),
    Promise.all([storedBlobs(ctx, 'versions'), storedBlobs(ctx, 'snapshots')]),
    content.quarantineBatches(),
    content.blobBytes(),
    databaseBytes(ctx, layout),
  ])
  const stale = (await Promise.all(locks.map((row) => staleReason(ctx, row)))).filter((reason) => reason !== null).length
  const sum = (field: 'count' | 'compressed' | 'bytes' | 'storedBytes') => stored[0][field] + stored[1][field]
  return {
    blobs: {bytes: sum('bytes'), compressed: sum('compressed'), count: sum('count'), storedBytes: sum('storedBytes')},
    contentBytes: Number(totals.native ?? 0) + versions.live + snapshots.live,
    disk: {blobs: storedBlobBytes, database},
    locks: {held: locks.length, stale},
    outputBytes: Number(totals.output ?? 0),
    quarantine: {batches: quarantine.length, bytes: quarantine.reduce((sum, batch) => sum + batch.bytes, 0)},
    records: Number(totals.records ?? 0),
    sessions: {
      byKind: Object.fromEntries(byKind.map((row) => [row.kind, Number(row.n)])),
      byStatus: Object.fromEntries(byStatus.map((row) => [row.status, Number(row.n)])),
      live: Number(totals.n),
      pinned: Number(totals.pinned ?? 0),
    },
    trash: {bytes: Number(trash.native ?? 0) + Number(trash.output ?? 0) + versions.trashed + snapshots.trashed, sessions: Number(trash.n)},
  }
}

/** Bytes of the blobs a table names, for live and for trashed sessions. */
async function blobBytes(ctx: StoreContext, table: 'versions' | 'snapshots'): Promise<{live: number; trashed: number}> {
  const rows = await ctx.db
    .selectFrom(table)
    .innerJoin('sessions', 'sessions.id', `${table}.session_id`)
    .select((eb) => [eb.fn.sum(`${table}.bytes`).as('bytes'), eb.case().when('sessions.trashed_at', 'is', null).then(0).else(1).end().as('trashed')])
    .groupBy('trashed')
    .execute()
  const sum = (trashed: number) => Number(rows.find((row) => Number(row.trashed) === trashed)?.bytes ?? 0)
  return {live: sum(0), trashed: sum(1)}
}

/** The blobs a table names: how many, how many compressed, bytes before compression and as stored. */
async function storedBlobs(ctx: StoreContext, table: 'versions' | 'snapshots'): Promise<StoreStats['blobs']> {
  const row = await ctx.db
    .selectFrom(table)
    .select((eb) => [
      eb.fn.countAll().as('n'),
      eb.fn.sum(eb.case().when('codec', 'in', ['zstd', 'gzip']).then(1).else(0).end()).as('compressed'),
      eb.fn.sum('bytes').as('bytes'),
      eb.fn.sum(eb.fn.coalesce('stored_bytes', 'bytes')).as('stored'),
    ])
    .executeTakeFirstOrThrow()
  return {bytes: Number(row.bytes ?? 0), compressed: Number(row.compressed ?? 0), count: Number(row.n), storedBytes: Number(row.stored ?? 0)}
}
