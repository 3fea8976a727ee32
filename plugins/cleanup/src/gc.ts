import {unlinkSync} from 'node:fs'
import ms from 'ms'
import type {GcItem} from '../../../src/bus/index.ts'
import {LockError, StorageError} from '../../../src/errors/index.ts'
import {holderOf, type LockRow, takeOver} from '../../../src/lock/table.ts'
import {type HeldLock, type LockSpace, pollLock} from '../../../src/store/locks/lock-space.ts'
import type {SessionRow, StoreContext} from '../../../src/store/context.ts'
import type {StoreLayout} from '../../../src/store/home.ts'
import {toSession} from '../../../src/store/rows.ts'
import {toStorageError} from '../../persistence/src/blobs/atomic-write.ts'
import {executeCompression, planCompression} from './compress.ts'
import type {ContentScan} from './content/home-scan.ts'
import {type ContentSource, contentSource} from './content/source.ts'
import {type BlobRow, type Inventory, protection, readInventory, type SessionEntry} from './inventory.ts'
import {type Candidate, planRetention} from './plan.ts'
import {assertPolicy, DEFAULT_COMPRESS_AFTER, DEFAULT_TRASH_GRACE, type RetentionPolicy} from './policy.ts'

/** How long a sweep waits for writers to let go of the content lock, ms. */
const SWEEP_WAIT = 30_000

/** Sessions trashed or purged per transaction. */
const BATCH = 500

/** Options of `store.gc()`. */
export interface GcOptions {
  /** Plan only: change nothing, and return what would be done. */
  dryRun?: boolean
  /** How long to wait for another gc run on the store to end, ms (default 0: fail at once with a `LockError`). */
  wait?: number
  /** Called as the plan is carried out: items done so far, of `total`. */
  onProgress?: (done: number, total: number) => void
}

/** A session a retention limit named but gc keeps, and why. */
export interface KeptSession {
  sessionId: string
  name: string
  /** The limits that named it. */
  reasons: string[]
  /** Why it is kept: `pinned`, `locked by …`, `active, its owner … may be alive`, `among the newest N … (keepAtLeast)`. */
  keptBy: string
}

/** Outcome of `store.gc()`. */
export interface GcReport {
  dryRun: boolean
  /** Every item done (in a dry run: that would be done), in the order gc does them. */
  items: GcItem[]
  /** Items planned but not done, and why: a `gc.planned` handler took them out, or the thing changed since the plan. */
  skipped: {item: GcItem; reason: string}[]
  /** Sessions a limit named that are kept (pinned, locked, in use, keepAtLeast). */
  kept: KeptSession[]
  /** Bytes deleted: purged sessions, temp files, quarantine batches past their grace period. */
  bytesFreed: number
  /** Bytes of the sessions moved to the trash (freed when gc purges them, after the grace period). */
  bytesTrashed: number
  /** Bytes moved into the quarantine. */
  bytesQuarantined: number
  /** The quarantine batch this run moved things into, if any. */
  quarantine: string | null
  /** Blobs compressed: how many, their bytes before and as stored after. */
  compressed: {blobs: number; bytes: number; storedBytes: number}
}

/** An item with what gc needs to carry it out. */
export interface Planned {
  item: GcItem
  lock?: LockRow
  session?: SessionEntry
  /** The row to unindex (`bytes`: its file's length as stored); `damaged`: its blob is there, of the right length, but fails its SHA-256. */
  blob?: {table: 'versions' | 'snapshots'; seq: number; blob: string; bytes: number; damaged?: boolean}
  /** The blob to compress. */
  compress?: BlobRow
  /** The content to quarantine: every blob of a session (`blob` null) or one blob; absent for a stray file. */
  orphan?: {sessionId: string; blob: string | null}
}

/**
 * Runs gc on the store (see `Store.gc`): takes the store-wide gc lock (see {@link takeGcLock}; not for a dry
 * run), plans, lets `gc.planned` handlers take items out (or veto the run), then carries out the
 * plan in an order that a kill at any instant leaves consistent and the next run finishes:
 * stale locks released; under the content lock, temp files deleted, orphans quarantined, rows
 * without content unindexed; sessions trashed (a batch per transaction, each session re-checked);
 * trash purged (rows, then content); old quarantine batches deleted. Emits `gc.completed`.
 *
 * @throws {StorageError} when the disk or the database fails; what was done before stays done.
 * @throws {LockError} when another gc run holds the store past `options.wait`.
 * @throws {VetoError} when a `gc.planned` handler vetoes. @throws {InvalidInputError} for an invalid policy.
 */
export async function runGc(ctx: StoreContext, layout: StoreLayout, policy: RetentionPolicy, options: GcOptions = {}): Promise<GcReport> {
  assertPolicy(policy)
  ctx.assertOpen()
  const dryRun = options.dryRun === true
  const run = dryRun ? undefined : await takeGcLock(ctx.locks, options.wait ?? 0)
  try {
    const now = ctx.now()
    const content = contentSource(ctx, layout, now)
    const {inventory, scan} = await sweep(ctx, content)
    const {kept, planned} = plan(inventory, scan, policy, now)
    const allowed = await ctx.bus.before('gc.planned', {items: planned.map((p) => ({...p.item}))})
    const keys = new Set((Array.isArray(allowed.items) ? allowed.items : []).map(itemKey))
    const report = emptyReport(dryRun, kept)
    const todo: Planned[] = []
    for (const entry of planned) {
      if (keys.has(itemKey(entry.item))) todo.push(entry)
      else report.skipped.push({item: entry.item, reason: 'a gc.planned handler took it out of the plan'})
    }
    if (dryRun) {
      for (const {item} of todo) count(report, item)
      return report
    }
    await execute(ctx, content, todo, report, now, options.onProgress)
    await ctx.bus.emit('gc.completed', {bytesFreed: report.bytesFreed, items: report.items})
    return report
  } finally {
    run?.release()
  }
}

/**
 * Takes the store's `gc` lock in `locks` (the store's lock space), so that two gc runs on one
 * store never overlap.
 *
 * @throws {LockError} when another run still holds it after `wait` ms.
 */
export async function takeGcLock(locks: LockSpace, wait: number): Promise<HeldLock> {
  const lock = await pollLock(locks, 'gc', {shared: false, wait})
  if (lock === undefined) {
    throw new LockError('Another sess gc (or sess doctor --fix) is running on this store.', {hint: 'Wait for it to finish, or pass a longer wait (--wait).'})
  }
  return lock
}

/**
 * Reads the index and lists the store's content under the exclusive content lock, so that no
 * write is in flight: the two agree, every temp file is litter, and every blob no row names was
 * never committed (or was pruned).
 *
 * @throws {StorageError} when writers hold the content lock for longer than {@link SWEEP_WAIT}.
 */
export async function sweep(ctx: StoreContext, content: ContentSource): Promise<{inventory: Inventory; scan: ContentScan}> {
  const lock = await ctx.content.exclusive(SWEEP_WAIT)
  if (!lock) throw busyContent()
  try {
    const inventory = await readInventory(ctx)
    return {inventory, scan: await content.scan()}
  } finally {
    lock.release()
  }
}

function busyContent(): StorageError {
  return new StorageError(`Writers held the store's content for over ${SWEEP_WAIT / 1000} s; the sweep did not start.`, {hint: 'Nothing was changed. Retry when the store is less busy.'})
}

/** The whole plan, in the order it is carried out. */
function plan(inventory: Inventory, scan: ContentScan, policy: RetentionPolicy, now: number): {planned: Planned[]; kept: KeptSession[]} {
  const planned: Planned[] = []
  const {sessions} = inventory
  const grace = policy.trashGrace ?? DEFAULT_TRASH_GRACE
  const purging = new Set([...sessions.values()].filter((s) => s.trashedAt !== null && !s.pinned && s.trashedAt < now - grace).map((s) => s.id))

  const {held, planned: releases} = planStaleLocks(inventory)
  planned.push(...releases, ...planLitter(inventory, scan, purging))

  // Retention.
  const pinnedRefs = new Set(policy.pinned ?? [])
  const deaths = new Map<string, string | undefined>()
  const compressAfter = policy.compressAfter === undefined ? DEFAULT_COMPRESS_AFTER : policy.compressAfter
  const candidates: Candidate[] = []
  for (const session of sessions.values()) {
    if (session.trashedAt !== null) continue
    candidates.push({...session, protectedBy: protection(session, held, pinnedRefs, deaths)})
  }
  const retention = planRetention(candidates, policy, now)
  for (const {candidate, reasons} of retention.collect) {
    const session = sessions.get(candidate.id)!
    planned.push({item: item('trash', 'session', session, null, reasons.join('; '), session.bytes), session})
  }

  // The trash and the quarantine, past their grace period.
  for (const id of purging) {
    const session = sessions.get(id)!
    planned.push({item: item('purge', 'trashed-session', session, null, `in the trash for ${ms(Math.max(0, now - session.trashedAt!))}, over the grace period of ${ms(grace)}`, session.bytes), session})
  }
  for (const batch of scan.quarantine) {
    if (batch.at < now - grace) planned.push({item: item('delete', 'quarantine', undefined, batch.path, `quarantined ${ms(Math.max(0, now - batch.at))} ago, over the grace period of ${ms(grace)}`, batch.bytes)})
  }
  if (compressAfter !== null) {
    const trashing = new Set(retention.collect.map(({candidate}) => candidate.id))
    planned.push(...planCompression(inventory, scan, compressAfter, now, held, deaths, trashing))
  }
  const kept = retention.kept.map(({candidate, keptBy, reasons}) => ({keptBy, name: candidate.name, reasons, sessionId: candidate.id}))
  return {kept, planned}
}

/** Stale locks to release (so that the sessions they held are judged unlocked), and the live-held locks by session. */
export function planStaleLocks(inventory: Inventory): {held: Map<string, LockRow>; planned: Planned[]} {
  const held = new Map<string, LockRow>()
  const planned: Planned[] = []
  for (const {row, stale} of inventory.locks) {
    if (stale === null) held.set(row.session_id, row)
    else planned.push({item: item('release', 'stale-lock', inventory.sessions.get(row.session_id), null, `stale lock (fencing token ${row.token}): ${stale}`, 0), lock: row})
  }
  return {held, planned}
}

/**
 * What crashes leave, by action then path: temp files to delete, content no row names to
 * quarantine, rows whose blob is missing or of the wrong length to unindex. Sessions in
 * `purging` are left to their purge.
 */
export function planLitter(inventory: Inventory, scan: ContentScan, purging: ReadonlySet<string> = new Set()): Planned[] {
  const {sessions} = inventory
  const litter: Planned[] = []
  for (const temp of scan.temps) litter.push({item: item('delete', 'temp-file', undefined, temp.path, 'temp file of an atomic write that never finished', temp.bytes)})
  const named = new Map<string, Set<string>>()
  for (const row of inventory.blobs) {
    if (!named.has(row.sessionId)) named.set(row.sessionId, new Set())
    named.get(row.sessionId)!.add(row.blob)
  }
  for (const [sessionId, dir] of scan.dirs) {
    const session = sessions.get(sessionId)
    if (!session) {
      const bytes = [...dir.blobs.values()].reduce((sum, blob) => sum + blob.bytes, 0)
      litter.push({item: item('quarantine', 'orphan', undefined, dir.path, 'blobs of a session the index does not know', bytes), orphan: {blob: null, sessionId}})
      continue
    }
    if (purging.has(sessionId)) continue
    for (const blob of dir.blobs.values()) {
      if (!named.get(sessionId)?.has(blob.blob)) {
        litter.push({item: item('quarantine', 'orphan', session, blob.path, 'blob no row names (a write that never committed, or a pruned snapshot)', blob.bytes), orphan: {blob: blob.blob, sessionId}})
      }
    }
  }
  for (const stray of scan.strays) litter.push({item: item('quarantine', 'orphan', undefined, stray.path, stray.why, stray.bytes)})
  for (const row of inventory.blobs) {
    if (purging.has(row.sessionId)) continue
    const file = scan.dirs.get(row.sessionId)?.blobs.get(row.blob)
    if (file && file.bytes === row.storedBytes) continue
    const session = sessions.get(row.sessionId)
    const what = `${row.table === 'versions' ? 'version' : 'snapshot'} ${row.seq}`
    const why = file ? `${what}: its blob holds ${file.bytes} bytes, not ${row.storedBytes} (moved to the quarantine)` : `${what}: its blob is missing`
    const path = file?.path ?? null
    litter.push({blob: {blob: row.blob, bytes: row.storedBytes, seq: row.seq, table: row.table}, item: item('unindex', 'missing-content', session, path, why, file?.bytes ?? 0)})
  }

  return litter.sort((a, b) => a.item.action.localeCompare(b.item.action) || (a.item.path ?? '').localeCompare(b.item.path ?? ''))
}

function item(action: GcItem['action'], type: GcItem['type'], session: SessionEntry | undefined, path: string | null, reason: string, bytes: number): GcItem {
  return {action, bytes, name: session?.name ?? null, path, reason, sessionId: session?.id ?? null, type}
}

/** Identity of an item across `gc.planned` handlers (which get copies). */
function itemKey(item: GcItem): string {
  return JSON.stringify([item.action, item.type, item.sessionId, item.path])
}

/** A report with nothing done yet. */
export function emptyReport(dryRun: boolean, kept: KeptSession[] = []): GcReport {
  return {bytesFreed: 0, bytesQuarantined: 0, bytesTrashed: 0, compressed: {blobs: 0, bytes: 0, storedBytes: 0}, dryRun, items: [], kept, quarantine: null, skipped: []}
}

/** Adds a done item to `report` and its bytes to the right total. */
export function count(report: GcReport, item: GcItem): void {
  report.items.push(item)
  if (item.action === 'trash') report.bytesTrashed += item.bytes
  else if (item.action === 'quarantine' || (item.action === 'unindex' && item.path !== null)) report.bytesQuarantined += item.bytes
  else if (item.action === 'delete' || item.action === 'purge') report.bytesFreed += item.bytes
  else if (item.action === 'compress' && typeof item.bytesAfter === 'number') {
    report.compressed.blobs += 1
    report.compressed.bytes += item.bytes
    report.compressed.storedBytes += item.bytesAfter
  }
}

/** Carries out the plan, re-checking each item against the store as it is now; adds what it did (or skipped) to `report`. */
export async function execute(ctx: StoreContext, content: ContentSource, todo: Planned[], report: GcReport, now: number, onProgress?: (done: number, total: number) => void): Promise<void> {
  let done = 0
  const progress = (n = 1) => {
    done += n
    onProgress?.(done, todo.length)
  }
  const skip = (entry: Planned, reason: string) => report.skipped.push({item: entry.item, reason})
  const by = (action: GcItem['action'], type?: GcItem['type']) => todo.filter((p) => p.item.action === action && (type === undefined || p.item.type === type))

  for (const entry of by('release')) {
    const row = entry.lock!
    const token = await ctx.relaxed((connection) => takeOver(ctx, connection, row, null, ctx.now()))
    if (token === undefined) skip(entry, 'the lock changed since the plan')
    else {
      count(report, entry.item)
      await ctx.bus.emit('lock.broken', {holder: holderOf(row), reason: entry.item.reason, sessionId: row.session_id, token: Number(row.token)})
    }
    progress()
  }

  const litter = [...by('delete', 'temp-file'), ...by('quarantine'), ...by('unindex')]
  if (litter.length > 0) {
    const lock = await ctx.content.exclusive(SWEEP_WAIT)
    if (!lock) throw busyContent()
    try {
      for (const entry of litter) {
        await carryOutContent(ctx, content, entry, report, skip)
        progress()
      }
    } finally {
      lock.release()
    }
  }

  const trash = by('trash')
  for (let start = 0; start < trash.length; start += BATCH) {
    const slice = trash.slice(start, start + BATCH)
    const trashed = await ctx.write(async (trx) => {
      const ids: string[] = []
      for (const entry of slice) {
        const session = entry.session!
        const result = await trx
          .updateTable('sessions')
          .set({trashed_at: now})
          .where('id', '=', session.id)
          .where('trashed_at', 'is', null)
          .where('pinned', '=', 0)
          .where('last_activity_at', '=', session.lastActivityAt)
          .where('status', '=', session.status)
          .where(({exists, not, selectFrom}) =>
            not(exists(selectFrom('locks').select('locks.session_id').where('locks.session_id', '=', session.id).where('locks.lease_id', 'is not', null).where('locks.expires_at', '>', now))),
          )
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) === 1) ids.push(session.id)
      }
      return ids
    })
    const rows = trashed.length === 0 ? [] : await ctx.db.selectFrom('sessions').selectAll().where('id', 'in', trashed).execute()
    const tags = await ctx.tagsOf(trashed)
    const done = new Set(trashed)
    for (const entry of slice) {
      if (done.has(entry.session!.id)) count(report, entry.item)
      else skip(entry, 'it changed since the plan (new activity, pinned, locked or already in the trash)')
    }
    for (const row of rows) await ctx.bus.emit('session.removed', {purged: false, session: toSession(row as SessionRow, tags.get(row.id) ?? [])})
    progress(slice.length)
  }

  const purge = by('purge')
  for (let start = 0; start < purge.length; start += BATCH) {
    const slice = purge.slice(start, start + BATCH)
    const current = await ctx.db.selectFrom('sessions').selectAll().where('id', 'in', slice.map((entry) => entry.session!.id)).execute()
    const still = new Map(current.filter((row) => row.trashed_at !== null && Number(row.pinned) === 0).map((row) => [row.id, row]))
    const tags = await ctx.tagsOf([...still.keys()])
    const go = slice.filter((entry) => {
      const row = still.get(entry.session!.id)
      const ok = row !== undefined && Number(row.trashed_at) === entry.session!.trashedAt
      if (!ok) skip(entry, 'it changed since the plan (restored, pinned or already purged)')
      return ok
    })
    for (const entry of [...go]) {
      const why = content.purgeBlocker(entry.session!.id)
      if (why !== undefined) {
        go.splice(go.indexOf(entry), 1)
        skip(entry, why)
      }
    }
    // Rows first (one transaction per batch), then content, as `sess rm --purge` does: a kill in
    // between leaves content that no row names, which the next sweep quarantines, and never a
    // session in the trash without its content, which `sess restore --from-trash` would bring back
    // empty.
    if (go.length > 0) {
      const ids = go.map((entry) => entry.session!.id)
      await ctx.write(async (trx) => {
        await trx.deleteFrom('locks').where('session_id', 'in', ids).execute()
        await trx.deleteFrom('sessions').where('id', 'in', ids).where('trashed_at', 'is not', null).execute()
      })
      await content.deleteSessions(ids)
    }
    for (const entry of go) {
      count(report, entry.item)
      const row = still.get(entry.session!.id)!
      await ctx.bus.emit('session.removed', {purged: true, session: toSession(row, tags.get(row.id) ?? [])})
    }
    progress(slice.length)
  }

  for (const entry of by('delete', 'quarantine')) {
    await content.deleteBatch(entry.item.path!)
    count(report, entry.item)
    progress()
  }
  await executeCompression(ctx, content, by('compress'), report, skip, progress)
  report.quarantine = content.quarantined ?? null
}

/** One content item, under the exclusive content lock: re-checked against the index, then done. */
async function carryOutContent(ctx: StoreContext, content: ContentSource, entry: Planned, report: GcReport, skip: (entry: Planned, reason: string) => void): Promise<void> {
  const {item} = entry
  const path = item.path
  if (item.action === 'delete') {
    try {
      unlinkSync(path!)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return skip(entry, 'it was gone already')
      throw toStorageError(error, `delete ${path}`, path!)
    }
    count(report, item)
    return
  }
  if (item.action === 'quarantine') {
    if (!(await stillOrphan(ctx, entry))) return skip(entry, 'a row names it now')
    if (!(await content.quarantine(path!))) return skip(entry, 'it was gone already')
    count(report, item)
    return
  }
  // unindex: a row whose blob is missing or of the wrong length, checked again now.
  const {blob, bytes, damaged, seq, table} = entry.blob!
  const sessionId = item.sessionId!
  if (!damaged && (await content.storedLength(sessionId, blob)) === bytes) return skip(entry, 'its blob is there now')
  const removed = await ctx.write(async (trx) => {
    const result =
      table === 'versions'
        ? await trx.deleteFrom('versions').where('session_id', '=', sessionId).where('version', '=', seq).where('blob', '=', blob).executeTakeFirst()
        : await trx.deleteFrom('snapshots').where('session_id', '=', sessionId).where('seq', '=', seq).where('blob', '=', blob).executeTakeFirst()
    if (Number(result.numDeletedRows) !== 1) return false
    if (table === 'versions') {
      const latest = await trx.selectFrom('versions').select((eb) => eb.fn.max('version').as('version')).where('session_id', '=', sessionId).executeTakeFirst()
      const versions = Number(latest?.version ?? 0)
      await trx
        .updateTable('sessions')
        .set(versions === 0 ? {format: null, version_count: 0} : {version_count: versions})
        .where('id', '=', sessionId)
        .execute()
    }
    return true
  })
  if (!removed) return skip(entry, 'the row changed since the plan')
  if (path !== null) {
    try {
      await content.quarantine(path)
    } catch {
      // the row is gone, which was the point; the content stays where it was, an orphan for the next run
    }
  }
  count(report, item)
}

/** Whether an orphan planned for the quarantine is still one: no session row for its blobs, or no row names the blob (a stray file always is). */
async function stillOrphan(ctx: StoreContext, entry: Planned): Promise<boolean> {
  if (entry.orphan === undefined) return true
  const {blob, sessionId: id} = entry.orphan
  if (blob === null) {
    const row = await ctx.db.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst()
    return row === undefined
  }
  const [version, snapshot] = await Promise.all([
    ctx.db.selectFrom('versions').select('blob').where('session_id', '=', id).where('blob', '=', blob).executeTakeFirst(),
    ctx.db.selectFrom('snapshots').select('blob').where('session_id', '=', id).where('blob', '=', blob).executeTakeFirst(),
  ])
  return version === undefined && snapshot === undefined
}
