import type {Kysely} from 'kysely'
import type {Database} from '../db/schema.ts'
import {toStorageError} from '../../plugins/persistence/src/blobs/atomic-write.ts'
import {NotFoundError, StorageError} from '../errors/index.ts'
import {checkFence} from '../lock/fence.ts'
import {currentOwner} from '../os/process.ts'
import {assertValidName} from '../session/names.ts'
import {assertTransition, type SessionStatus} from '../session/status.ts'
import type {Session, SessionMode, SessionOwner} from '../session/types.ts'
import {emptyRow, insertSession, type SessionRow, type StoreContext} from './context.ts'
import {applyListFilter, globMatches, type ListFilter} from './list-filter.ts'
import {toSession} from './rows.ts'
import type {CreateSessionInput} from './types.ts'
import {assertTags} from './validate.ts'

/** What the coordinator adds to a session's creation (see `newSession`). */
export interface CreateOptions {
  /** The owner (default: this process). */
  owner?: SessionOwner
  /** Default `background`. */
  mode?: SessionMode
  /** Runs inside the creating transaction, with the row (its name chosen), before it is inserted: may write more, or throw to create nothing. */
  within?: (trx: Kysely<Database>, row: SessionRow) => Promise<void>
}

/** See `Store.create`. */
export async function createSession(ctx: StoreContext, input: CreateSessionInput, options: CreateOptions = {}): Promise<Session> {
  const kind = input.kind ?? 'chat'
  const explicit = input.name === undefined ? undefined : assertValidName(input.name)
  const tags = assertTags(input.tags ?? [])
  if (input.parentId !== undefined) await ctx.row(input.parentId)
  const now = ctx.now()
  const owner = options.owner ?? currentOwner()
  const row: SessionRow = {
    ...emptyRow(ctx.newId(now), '', kind, now),
    cwd: input.cwd ?? null,
    model: input.model ?? null,
    owner_host: owner.host,
    owner_pid: owner.pid,
    owner_start_time: owner.startTime,
    parent_id: input.parentId ?? null,
    provider: input.provider ?? null,
    mode: options.mode ?? 'background',
    status: input.status ?? 'active',
    title: input.title ?? null,
  }
  await ctx.write(
    async (trx) => {
      row.name = explicit ?? (await ctx.freeName(trx, `${kind}-${timestampName(now)}`))
      await options.within?.(trx, row)
      await insertSession(trx, row, tags)
    },
    explicit === undefined ? undefined : {name: explicit},
  )
  const session = toSession(row, tags)
  await ctx.bus.emit('session.created', {session})
  return session
}

/** See `Store.get`. */
export async function getSession(ctx: StoreContext, ref: string, includeTrashed = false): Promise<Session> {
  const row = await ctx.row(ref, includeTrashed)
  return toSession(row, (await ctx.tagsOf([row.id])).get(row.id) ?? [])
}

/** See `Store.list`. */
export async function listSessions(ctx: StoreContext, filter: ListFilter): Promise<Session[]> {
  ctx.assertOpen()
  let query = applyListFilter(ctx.db.selectFrom('sessions').selectAll('sessions'), filter)
  // LIKE is looser than the glob (case, `_`), so a name filter is re-checked before the limit.
  if (filter.limit !== undefined && filter.name === undefined) query = query.limit(filter.limit)
  let rows = await query.execute()
  if (filter.name !== undefined) {
    const glob = filter.name
    rows = rows.filter((row) => globMatches(glob, row.name)).slice(0, filter.limit ?? rows.length)
  }
  const tags = await ctx.tagsOf(rows.map((row) => row.id))
  return rows.map((row) => toSession(row, tags.get(row.id) ?? []))
}

/** See `Store.rename`. */
export async function renameSession(ctx: StoreContext, ref: string, newName: string): Promise<Session> {
  assertValidName(newName)
  const {id} = await ctx.row(ref)
  await ctx.write(
    async (trx) => {
      await checkFence(ctx, trx, id)
      await trx.updateTable('sessions').set({name: newName}).where('id', '=', id).execute()
      await trx.updateTable('current_sessions').set({session_name: newName}).where('session_id', '=', id).execute()
    },
    {name: newName},
  )
  return getSession(ctx, id)
}

/** Options of {@link setSessionStatus}. */
export interface StatusOptions {
  /**
   * Runs inside the transaction, with the session's row as it is there, before the change: returns
   * `false` to leave the session as it is, may write more, or throws to change nothing.
   */
  within?: (trx: Kysely<Database>, row: SessionRow) => Promise<boolean>
  /** Set the last activity to now (default `true`); the idle timeout's pause keeps it. */
  touch?: boolean
}

/** See `Store.setStatus`. */
export async function setSessionStatus(ctx: StoreContext, ref: string, status: SessionStatus, options: StatusOptions = {}): Promise<Session> {
  const {id} = await ctx.row(ref)
  const now = ctx.now()
  const from = await ctx.write(async (trx) => {
    await checkFence(ctx, trx, id)
    const current = await trx.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
    const previous = current.status as SessionStatus
    if (options.within && !(await options.within(trx, current))) return undefined
    if (!assertTransition(previous, status)) return undefined
    const closing = status === 'completed' || status === 'terminated'
    await trx
      .updateTable('sessions')
      .set({closed_at: closing ? now : null, status, ...(options.touch === false ? {} : {last_activity_at: now})})
      .where('id', '=', id)
      .execute()
    return previous
  })
  const session = await getSession(ctx, id)
  if (from !== undefined) await ctx.bus.emit('session.status_changed', {from, session, to: status})
  return session
}

/** See `Store.remove`. */
export async function removeSession(ctx: StoreContext, ref: string, purge: boolean): Promise<Session> {
  const session = await getSession(ctx, ref, purge)
  await ctx.write(async (trx) => {
    if (session.trashedAt === null) await checkFence(ctx, trx, session.id)
    if (purge) {
      await trx.deleteFrom('locks').where('session_id', '=', session.id).execute()
      await trx.deleteFrom('sessions').where('id', '=', session.id).execute()
    } else {
      await trx.updateTable('sessions').set({trashed_at: ctx.now()}).where('id', '=', session.id).execute()
    }
  })
  // The rows are gone: the session is purged. Files a failing disk left are named by no row now.
  const left = purge ? await ctx.blobs.deleteSession(session.id).then(() => undefined, (error: unknown) => error) : undefined
  await ctx.bus.emit('session.removed', {purged: purge, session})
  if (left !== undefined) throw purgedButLeft(session.name, `the blobs of ${session.id}`, left)
  return session
}

/**
 * The error for content left behind by a purge whose rows are gone: the session is purged either
 * way, and its files are litter that the next `sess gc` or `sess doctor --fix` quarantines.
 */
export function purgedButLeft(name: string, path: string, error: unknown): StorageError {
  const cause = toStorageError(error, `delete ${path}`, path)
  return new StorageError(`Session ${name} is purged, but deleting its files failed: ${cause.message}`, {
    cause: error,
    hint: `${cause.hint ?? 'Check the disk.'} No session names those files now: the next sess gc (or sess doctor --fix) moves them to the quarantine.`,
  })
}

/** See `Store.pin`. */
export async function pinSession(ctx: StoreContext, ref: string, pinned: boolean): Promise<Session> {
  const row = await ctx.row(ref, true)
  await ctx.write((trx) => trx.updateTable('sessions').set({pinned: pinned ? 1 : 0}).where('id', '=', row.id).execute())
  return getSession(ctx, row.id, true)
}

/** See `Store.untrash`. */
export async function untrashSession(ctx: StoreContext, ref: string): Promise<Session> {
  const row = await ctx.row(ref, true)
  if (row.trashed_at === null) throw new NotFoundError(`Session ${row.name} is not in the trash.`, {hint: '`sess list --trash` lists the trash.'})
  await ctx.write((trx) => trx.updateTable('sessions').set({trashed_at: null}).where('id', '=', row.id).execute(), {
    hint: 'Rename the other session first (sess rename).',
    name: row.name,
  })
  return getSession(ctx, row.id)
}

/** `20261121-094100`: a time for generated names. */
function timestampName(now: number): string {
  return new Date(now).toISOString().replaceAll(/[-:]/g, '').replace('T', '-').slice(0, 15)
}
