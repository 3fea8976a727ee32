import type {Kysely} from 'kysely'
import type {Database} from '../db/schema.ts'
import {InvalidInputError} from '../errors/index.ts'
import {Lease} from '../lock/lease.ts'
import {readLock, releaseLease} from '../lock/table.ts'
import {lockHolder} from '../os/process.ts'
import type {Session} from '../session/types.ts'
import type {StoreContext} from '../store/context.ts'
import {followOutput, type ReplaySink} from '../store/output.ts'
import {createSession, getSession, setSessionStatus} from '../store/sessions.ts'
import type {CreateSessionInput} from '../store/types.ts'
import {assertRoom} from './limits.ts'
import {pauseIdleSessions} from './idle.ts'
import {currentOrNone, currentSession, type Here, place, pointerKey, type PointerScope, setPointer} from './pointers.ts'
import type {SessionSettings} from './settings.ts'

/** Input of `store.newSession()`. */
export interface NewSessionInput extends CreateSessionInput {
  /** The process that owns the session (default: this one); `sess new` passes its calling shell. */
  ownerPid?: number
  /** Which pointer it becomes the current session of: this terminal's (default) or this directory's. */
  scope?: PointerScope
  /** Where the caller is (default: this process's terminal and working directory). */
  here?: Here
}

/** Options of `store.switchTo()`. */
export interface SwitchOptions {
  /** Set this terminal's current session (default) or this directory's. */
  scope?: PointerScope
  here?: Here
  /** The process that owns the session if the switch resumes it (default: this one). */
  ownerPid?: number
  /**
   * Receives the output the session missed while in the background (its `o` and `e` events after
   * the sequence number it had then, in order), through the replay plugin's `session.foregrounded`
   * handler. Without a sink, or without the replay plugin, nothing is replayed.
   */
  sink?: ReplaySink
}

/** What `store.newSession()` and `store.switchTo()` did. */
export interface SwitchResult {
  /** The session, now current and in the foreground. */
  session: Session
  /** The pointer set: its scope and key; `null` when `newSession` ran outside any terminal (no pointer set). */
  pointer: {scope: PointerScope; key: string} | null
  /** The session current there before (now in the background, unless another terminal still shows it), if any. */
  previous: Session | null
  /** What the sink was given of the missed output: events and UTF-8 bytes of their data. */
  replayed: {events: number; bytes: number}
}

/** What `store.closeSession()` did. */
export interface CloseResult {
  session: Session
  /** Whether the session's lock was released (it was held by this process, its caller, or a lease token it holds). */
  releasedLock: boolean
  /** How many current-session pointers named it (all removed). */
  pointers: number
}

/**
 * See `Store.newSession`: a new `active` session, current at `here` and in the foreground, the
 * previous current one moved to the background, all in one transaction that also checks
 * `sessions.maxActive`. Idle sessions are paused first.
 */
export async function newSession(ctx: StoreContext, settings: SessionSettings, input: NewSessionInput): Promise<SwitchResult> {
  await pauseIdleSessions(ctx, settings.idleTimeout)
  const {here, ownerPid, scope = 'terminal', ...create} = input
  const where = place(here)
  const key = pointerKey(scope, where)
  const previous = key === null ? undefined : await currentOrNone(ctx, where)
  let backgrounded: number | undefined
  const session = await createSession(ctx, {...create, status: 'active'}, {
    mode: key === null ? 'background' : 'foreground',
    owner: lockHolder(ownerPid ?? process.pid),
    within: async (trx, row) => {
      await assertRoom(trx, settings.maxActive)
      if (key === null) return
      await setPointer(trx, scope, key, row, row.created_at)
      if (previous) backgrounded = await toBackground(trx, previous.id, key)
    },
  })
  if (previous && backgrounded !== undefined) await ctx.bus.emit('session.backgrounded', {seq: backgrounded, session: previous})
  return {pointer: key === null ? null : {key, scope}, previous: previous ?? null, replayed: {bytes: 0, events: 0}, session}
}

/**
 * See `Store.switchTo`: makes `ref` current at `here` and brings it to the foreground (replaying
 * what it missed), moves the previous current one to the background, and resumes a `paused` or
 * `completed` session (to `active`, owned by the caller, within `sessions.maxActive`).
 *
 * @throws {InvalidInputError} for the terminal scope outside any terminal.
 */
export async function switchTo(ctx: StoreContext, settings: SessionSettings, ref: string, options: SwitchOptions = {}): Promise<SwitchResult> {
  await pauseIdleSessions(ctx, settings.idleTimeout)
  const scope = options.scope ?? 'terminal'
  const where = place(options.here)
  const key = pointerKey(scope, where)
  if (key === null) throw noTerminal()
  let target = await getSession(ctx, ref)
  const previous = (await currentOrNone(ctx, where)) ?? null
  if (target.status === 'paused' || target.status === 'completed') {
    const owner = lockHolder(options.ownerPid ?? process.pid)
    target = await setSessionStatus(ctx, target.id, 'active', {
      within: async (trx) => {
        await assertRoom(trx, settings.maxActive, target.id)
        await trx.updateTable('sessions').set({owner_host: owner.host, owner_pid: owner.pid, owner_start_time: owner.startTime}).where('id', '=', target.id).execute()
        return true
      },
    })
  }
  const now = ctx.now()
  const moved = await ctx.write(async (trx) => {
    await setPointer(trx, scope, key, target, now)
    const row = await trx.selectFrom('sessions').select(['mode', 'background_seq']).where('id', '=', target.id).executeTakeFirstOrThrow()
    await trx.updateTable('sessions').set({background_seq: null, last_activity_at: now, mode: 'foreground'}).where('id', '=', target.id).execute()
    const backgrounded = previous && previous.id !== target.id ? await toBackground(trx, previous.id, key) : undefined
    return {after: row.mode === 'background' ? (row.background_seq === null ? null : Number(row.background_seq)) : undefined, backgrounded}
  })
  if (previous && moved.backgrounded !== undefined) await ctx.bus.emit('session.backgrounded', {seq: moved.backgrounded, session: previous})
  const session = await getSession(ctx, target.id)
  const replayed = {bytes: 0, events: 0}
  if (moved.after !== undefined) {
    const after = moved.after ?? (await lastOutputSeq(ctx.db, session.id))
    const {sink} = options
    const counted: ReplaySink | null = sink
      ? (event) => {
          replayed.events++
          replayed.bytes += Buffer.byteLength(event.data)
          return sink(event)
        }
      : null
    await ctx.bus.emit('session.foregrounded', {after, missed: () => followOutput(ctx, session.id, {after}), previous: previous?.id === session.id ? null : previous, session, sink: counted})
  }
  return {pointer: {key, scope}, previous: previous?.id === session.id ? null : previous, replayed, session}
}

/**
 * See `Store.closeSession`: `completed` through the state machine (closed time set), its lock
 * released when this process, the process `holderPid`, or a lease token this store holds holds
 * it, every pointer to it removed, and its mode back to the background.
 */
export async function closeSession(ctx: StoreContext, ref: string | undefined, options: {here?: Here; holderPid?: number} = {}): Promise<CloseResult> {
  const target = ref === undefined ? (await currentSession(ctx, place(options.here))).session : await getSession(ctx, ref)
  const releasedLock = await releaseHeldLock(ctx, target.id, options.holderPid ?? process.pid)
  if (target.status !== 'completed' && target.status !== 'terminated') await setSessionStatus(ctx, target.id, 'completed')
  const pointers = await ctx.write(async (trx) => {
    const removed = await trx.deleteFrom('current_sessions').where('session_id', '=', target.id).executeTakeFirst()
    await trx.updateTable('sessions').set({background_seq: null, mode: 'background'}).where('id', '=', target.id).execute()
    return Number(removed.numDeletedRows)
  })
  return {pointers, releasedLock, session: await getSession(ctx, target.id)}
}

/**
 * Releases session `id`'s lock if this store holds its lease (its own grant, or a token from
 * `SESS_LOCK_TOKEN`) or if its holder is process `holderPid` of this host (same pid, same start
 * time). Emits `lock.released`.
 *
 * @returns whether it released it.
 */
async function releaseHeldLock(ctx: StoreContext, id: string, holderPid: number): Promise<boolean> {
  const row = await readLock(ctx, ctx.db, id)
  if (!row || row.lease_id === null) return false
  const lease = ctx.leases.get(id)
  const caller = lockHolder(holderPid)
  const ours = lease !== undefined && lease.token === Number(row.token) && lease.leaseId === row.lease_id
  const callers = row.holder_host === caller.host && Number(row.holder_pid) === caller.pid && row.holder_start_time === caller.startTime
  if (!ours && !callers) return false
  if (lease instanceof Lease) return lease.release()
  const ref = {leaseId: row.lease_id, sessionId: id, token: Number(row.token)}
  const released = await ctx.relaxed((connection) => releaseLease(ctx, connection, ref, ctx.now()))
  ctx.leases.delete(id)
  if (released) await ctx.bus.emit('lock.released', {sessionId: id, token: ref.token})
  return released
}

/**
 * Moves session `id` to the background, recording its output buffer's last sequence number,
 * unless a terminal pointer other than `key` still names it (it stays in the foreground there).
 *
 * @returns that sequence number, or `undefined` when it stays in the foreground or already was in the background.
 */
async function toBackground(trx: Kysely<Database>, id: string, key: string): Promise<number | undefined> {
  const shown = await trx.selectFrom('current_sessions').select('key').where('session_id', '=', id).where('scope', '=', 'terminal').where('key', '!=', key).executeTakeFirst()
  if (shown) return undefined
  const seq = await lastOutputSeq(trx, id)
  const moved = await trx.updateTable('sessions').set({background_seq: seq, mode: 'background'}).where('id', '=', id).where('mode', '=', 'foreground').executeTakeFirst()
  return Number(moved.numUpdatedRows) === 1 ? seq : undefined
}

/** The last sequence number handed out in session `id`'s output buffer (0: none yet). */
async function lastOutputSeq(db: Kysely<Database>, id: string): Promise<number> {
  const buffer = await db.selectFrom('output_buffers').select('last_seq').where('session_id', '=', id).executeTakeFirst()
  if (buffer) return Number(buffer.last_seq)
  const max = await db.selectFrom('output_events').select((eb) => eb.fn.max('seq').as('seq')).where('session_id', '=', id).executeTakeFirst()
  return Number(max?.seq ?? 0)
}

function noTerminal(): InvalidInputError {
  return new InvalidInputError('sess runs in no terminal here, so it has no current session of its own.', {
    hint: 'Use --dir to set the current session of this directory, or name the terminal with SESS_TERMINAL=NAME.',
  })
}
