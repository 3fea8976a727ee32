import {chmodSync} from 'node:fs'
import {sql} from 'kysely'
import ms from 'ms'
import type {DoctorFinding} from '../../../src/bus/index.ts'
import {danglingPointers, removePointer} from '../../../src/coordinator/pointers.ts'
import {migrateToLatest, migrationStatus} from '../../../src/db/migrate.ts'
import {SessError} from '../../../src/errors/index.ts'
import type {StoreContext} from '../../../src/store/context.ts'
import type {StoreLayout} from '../../../src/store/home.ts'
import {setOutputLimit} from '../../../src/store/output.ts'
import {setSessionStatus} from '../../../src/store/sessions.ts'
import {IN_USE_STATUSES} from '../../../src/session/status.ts'
import {sha256} from '../../../src/store/blob-store.ts'
import {toStorageError} from '../../persistence/src/blobs/atomic-write.ts'
import {readRegularFile} from '../../persistence/src/blobs/read-file.ts'
import {leakedDescriptors, ownDescriptorsUnder} from './fds.ts'
import {emptyReport, execute, type Planned, planLitter, planStaleLocks, sweep, takeGcLock} from './gc.ts'
import {ownerDeath} from './inventory.ts'
import {DEFAULT_TRASH_GRACE} from './policy.ts'
import {QuarantineBatch} from './quarantine.ts'

/** Options of `store.doctor()`. */
export interface DoctorOptions {
  /** Repair what is safe and quarantine what is not (see {@link runDoctor}). */
  fix?: boolean
  /** Read every blob and check its SHA-256 (default `true`); `false` checks presence and length only. */
  checksums?: boolean
  /** The grace period after which the trash and the quarantine are overdue, ms; default 7 days. */
  trashGrace?: number
  /** File descriptors of this process open in the store before the run (default: as the run starts); a run that leaves more open reports them. `null`: no check (a caller that checks around more than the run). */
  descriptorsBefore?: Map<number, string> | null
}

/** A finding, and whether `--fix` repaired it. */
export interface DoctorResult extends DoctorFinding {
  /** Whether this run repaired (or quarantined) it; always `false` without `fix`. */
  fixed: boolean
}

/** Outcome of `store.doctor()`. */
export interface DoctorReport {
  /** Every finding, in the order found; empty when the store is clean. */
  findings: DoctorResult[]
  /** Whether nothing is left to do: every finding (if any) was fixed. */
  clean: boolean
  /** The quarantine batch `fix` moved things into, if any. */
  quarantine: string | null
}

/** A finding with how to repair it. */
interface Found {
  finding: DoctorFinding
  /** A gc item that repairs it (release, delete, quarantine, unindex). */
  planned?: Planned
  /** Any other repair; returns whether it did it. */
  repair?: () => Promise<boolean>
}

/**
 * Checks the store (see `Store.doctor`): the database (SQLite `quick_check`, pending migrations),
 * the search index (present, sound, one entry per record), locks, session owners, content
 * against the index (temp files, orphans either way, lengths and SHA-256), file modes, symlinks,
 * output buffers against their bound, the trash and the quarantine against the grace period, and
 * this process's descriptors into the store. Emits `doctor.finding` for each finding.
 *
 * With `fix` (under the gc lock, so that no gc runs meanwhile) it repairs what is safe: releases
 * stale locks, marks sessions whose owner is dead `terminated` (through the state machine),
 * deletes temp files, fixes modes, evicts output over its bound, re-indexes counters, rebuilds the
 * search index; and it quarantines what is not: orphans, symlinks, blobs whose content is damaged
 * (their rows unindexed). The trash and the quarantine are left to `sess gc`.
 *
 * @throws {LockError} with `fix`, when a gc run holds the store.
 */
export async function runDoctor(ctx: StoreContext, layout: StoreLayout, options: DoctorOptions = {}): Promise<DoctorReport> {
  ctx.assertOpen()
  const before = options.descriptorsBefore === undefined ? ownDescriptorsUnder(layout.home) : options.descriptorsBefore
  const run = options.fix ? await takeGcLock(layout, 0) : undefined
  const found: Found[] = []
  const add = (kind: string, severity: DoctorFinding['severity'], where: {sessionId?: string | null; path?: string | null}, message: string, fix: string | null, how: Omit<Found, 'finding'> = {}) =>
    found.push({finding: {fix, kind, message, path: where.path ?? null, sessionId: where.sessionId ?? null, severity}, ...how})
  let report: DoctorReport
  try {
    const now = ctx.now()
    const grace = options.trashGrace ?? DEFAULT_TRASH_GRACE

    // The database.
    const check = await sql<{quick_check: string}>`pragma quick_check`.execute(ctx.db).catch((error: unknown) => ({rows: [{quick_check: String(error)}]}))
    // SQLite runs FTS5's own check of the search index in quick_check: that is reported (and rebuilt) as `search-index` below.
    const problems = check.rows.map((row) => Object.values(row)[0]).filter((text) => text !== 'ok' && !String(text).includes('table "search_fts"'))
    if (problems.length > 0) add('database-integrity', 'error', {path: layout.database}, `The database fails its integrity check: ${problems.slice(0, 3).join('; ')}`, 'Restore sess.db from a backup, or recover it with `sqlite3 sess.db .recover`.')
    const pending = (await migrationStatus(ctx.db)).filter((m) => m.appliedAt === null)
    const fixed = new Set<Found>()
    if (pending.length > 0) {
      const more = options.fix ? '' : ' The other checks need the current schema: run `sess migrate` (or --fix), then doctor again.'
      add('schema-behind', 'warning', {path: layout.database}, `${pending.length} schema migration(s) pending: ${pending.map((m) => m.name).join(', ')}.${more}`, 'sess migrate')
      if (options.fix) {
        await migrateToLatest(ctx.db, layout.migrateLock, ctx.beginWrite)
        fixed.add(found.at(-1)!)
      }
    }
    const checkContent = pending.length === 0 || options.fix === true
    const links = new QuarantineBatch(layout, now)

    if (checkContent) {
      // The search index (derived from the records: rebuilt whole when anything is wrong with it).
      const searchProblems = await ctx.search.check(ctx.db)
      if (searchProblems.length > 0) {
        add('search-index', 'error', {path: layout.database}, searchProblems.join(' '), 'rebuild it from the records (sess doctor --fix)', {
          repair: async () => {
            await ctx.write((trx) => ctx.search.rebuild(trx))
            return true
          },
        })
      }

      // Locks, owners, content.
      const {inventory, scan} = await sweep(ctx, layout)
      for (const planned of planStaleLocks(inventory).planned) {
        add('stale-lock', 'warning', {sessionId: planned.item.sessionId}, `Session ${planned.item.name ?? planned.item.sessionId} has a ${planned.item.reason}.`, 'release the lock (sess doctor --fix, or sess gc)', {planned})
      }
      const deaths = new Map<string, string | undefined>()
      for (const session of inventory.sessions.values()) {
        if (session.trashedAt !== null || !IN_USE_STATUSES.has(session.status)) continue
        const death = ownerDeath(session.owner, deaths)
        if (death === undefined) continue
        add('dead-owner', 'warning', {sessionId: session.id}, `Session ${session.name} is ${session.status}, but ${death}.`, 'mark it terminated (sess doctor --fix)', {
          repair: async () => {
            await setSessionStatus(ctx, session.id, 'terminated')
            return true
          },
        })
      }
      for (const pointer of await danglingPointers(ctx.db)) {
        const whose = pointer.scope === 'terminal' ? `terminal ${pointer.key}` : `directory ${pointer.key}`
        add('dangling-pointer', 'warning', {sessionId: pointer.sessionId}, `The current session of ${whose} is ${pointer.sessionName}, which was deleted.`, 'remove the pointer (sess doctor --fix)', {
          repair: async () => {
            await removePointer(ctx, pointer)
            return true
          },
        })
      }
      for (const planned of planLitter(inventory, scan)) {
        const {item} = planned
        const where = {path: item.path, sessionId: item.sessionId}
        if (item.type === 'temp-file') add('temp-file', 'warning', where, `Temp file of an atomic write that never finished (${item.bytes} bytes).`, 'delete it (sess doctor --fix, or sess gc)', {planned})
        else if (item.type === 'orphan') add('orphan-content', 'warning', where, `Content no index row names: ${item.reason} (${item.bytes} bytes).`, 'quarantine it (sess doctor --fix, or sess gc)', {planned})
        else {
          const kind = item.path === null ? 'missing-content' : 'length-mismatch'
          add(kind, 'error', where, `Session ${item.name ?? item.sessionId}: ${item.reason.replace(' (moved to the quarantine)', '')}.`, 'unindex the row (its content is lost; a damaged file is quarantined): sess doctor --fix', {planned})
        }
      }
      if (options.checksums !== false) {
        for (const row of inventory.blobs) {
          const file = scan.dirs.get(row.sessionId)?.blobs.get(row.blob)
          if (!file || file.bytes !== row.storedBytes) continue // reported above
          let actual: string
          try {
            actual = sha256(readRegularFile(file.path))
          } catch {
            continue // gone meanwhile (a pruned snapshot)
          }
          if (actual === row.storedSha256) continue
          const session = inventory.sessions.get(row.sessionId)
          const what = `${row.table === 'versions' ? 'version' : 'snapshot'} ${row.seq}`
          const planned: Planned = {
            blob: {blob: row.blob, bytes: row.storedBytes, damaged: true, seq: row.seq, table: row.table},
            item: {action: 'unindex', bytes: file.bytes, name: session?.name ?? null, path: file.path, reason: `${what}: SHA-256 ${actual}, expected ${row.storedSha256}`, sessionId: row.sessionId, type: 'missing-content'},
          }
          const form = row.storedSha256 === row.sha256 ? '' : ` ${row.codec}-compressed`
          add('checksum-mismatch', 'error', {path: file.path, sessionId: row.sessionId}, `Session ${session?.name ?? row.sessionId}, ${what}: the${form} content's SHA-256 is ${actual}, not ${row.storedSha256} as stored.`, 'quarantine the file and unindex the row: sess doctor --fix', {planned})
        }
      }

      // The file system.
      for (const {mode, path, want} of scan.modes) {
        add('file-mode', 'warning', {path}, `${path} has mode ${mode.toString(8).padStart(4, '0')}, not ${want.toString(8).padStart(4, '0')}.`, `chmod ${want.toString(8)} (sess doctor --fix)`, {
          repair: async () => {
            try {
              chmodSync(path, want)
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw toStorageError(error, `chmod ${path}`)
            }
            return true
          },
        })
      }
      for (const path of scan.symlinks) {
        add('symlink', 'error', {path}, `${path} is a symlink; sess never follows symlinks in its store.`, 'quarantine it (sess doctor --fix)', {
          repair: async () => {
            links.move(path)
            return true
          },
        })
      }

      // Index against content: counters, output buffers.
      const [records, output, buffers] = await Promise.all([
        ctx.db.selectFrom('records').select(['session_id', (eb) => eb.fn.countAll().as('n')]).groupBy('session_id').execute(),
        ctx.db.selectFrom('output_events').select(['session_id', (eb) => eb.fn.sum('bytes').as('bytes')]).groupBy('session_id').execute(),
        ctx.db.selectFrom('output_buffers').select(['session_id', 'limit_bytes']).execute(),
      ])
      const counted = new Map(records.map((row) => [row.session_id, Number(row.n)]))
      const held = new Map(output.map((row) => [row.session_id, Number(row.bytes)]))
      const limits = new Map(buffers.map((row) => [row.session_id, row.limit_bytes === null ? null : Number(row.limit_bytes)]))
      for (const session of inventory.sessions.values()) {
        const n = counted.get(session.id) ?? 0
        const bytes = held.get(session.id) ?? 0
        if (n !== session.recordCount || bytes !== session.outputBytes) {
          add('index-mismatch', 'warning', {sessionId: session.id}, `Session ${session.name}: the index counts ${session.recordCount} records and ${session.outputBytes} output bytes; it holds ${n} and ${bytes}.`, 're-index the counters (sess doctor --fix)', {
            repair: async () => {
              await ctx.write((trx) => trx.updateTable('sessions').set({output_bytes: bytes, record_count: n}).where('id', '=', session.id).execute())
              session.outputBytes = bytes
              return true
            },
          })
        }
        const own = limits.get(session.id) ?? null
        const limit = own ?? ctx.outputLimit
        if (session.trashedAt === null && bytes > limit) {
          add('output-over-bound', 'warning', {sessionId: session.id}, `Session ${session.name}: its output buffer holds ${bytes} bytes, over its bound of ${limit}.`, 'evict the oldest events (sess doctor --fix)', {
            repair: async () => {
              await setOutputLimit(ctx, session.id, own)
              return true
            },
          })
        }
      }

      // What gc empties.
      for (const session of inventory.sessions.values()) {
        if (session.trashedAt === null || session.pinned || session.trashedAt >= now - grace) continue
        add('trash-past-grace', 'warning', {sessionId: session.id}, `Session ${session.name} has been in the trash for ${ms(now - session.trashedAt)}, over the grace period of ${ms(grace)}.`, 'sess gc')
      }
      for (const batch of scan.quarantine) {
        if (batch.at >= now - grace) continue
        add('quarantine-past-grace', 'warning', {path: batch.path}, `Quarantined ${ms(now - batch.at)} ago (${batch.bytes} bytes), over the grace period of ${ms(grace)}.`, 'sess gc')
      }
    }

    // Repairs.
    const gcReport = emptyReport(false)
    if (options.fix && checkContent) {
      // Stale locks first (a status change would wait on them), then repairs in place (modes,
      // statuses, counters), then what moves or deletes files.
      const byItem = new Map(found.filter((f) => f.planned).map((f) => [f.planned!.item, f]))
      const planned = [...byItem.values()].map((f) => f.planned!)
      await execute(ctx, layout, planned.filter((p) => p.item.action === 'release'), gcReport, now, undefined, links)
      for (const f of found) {
        if (!f.repair) continue
        try {
          if (await f.repair()) fixed.add(f)
        } catch (error) {
          if (!(error instanceof SessError)) throw error
          f.finding = {...f.finding, message: `${f.finding.message} (not fixed: ${error.message})`}
        }
      }
      await execute(ctx, layout, planned.filter((p) => p.item.action !== 'release'), gcReport, now, undefined, links)
      for (const item of gcReport.items) fixed.add(byItem.get(item)!)
    }
    const findings = found.map((f) => ({...f.finding, fixed: fixed.has(f)}))
    report = {clean: findings.every((f) => f.fixed), findings, quarantine: links.path ?? null}
  } finally {
    run?.release()
  }
  // This run's own descriptors into the store, once it is over.
  for (const {fd, target} of leakedDescriptors(before, layout.home)) {
    const finding = {fix: null, fixed: false, kind: 'leaked-handle', message: `This process holds descriptor ${fd} open on ${target}, which it did not hold before the run.`, path: target, sessionId: null, severity: 'error' as const}
    report.findings.push(finding)
    report.clean = false
  }
  for (const {fixed: _fixed, ...finding} of report.findings) await ctx.bus.emit('doctor.finding', finding)
  return report
}
