import type {Kysely} from 'kysely'
import type {SessConfig} from '../config/file.ts'
import type {Database} from '../db/schema.ts'
import {InvalidInputError, NotFoundError} from '../errors/index.ts'
import {checkFence} from '../lock/fence.ts'
import {sleep} from '../os/sleep.ts'
import {isSessionId} from '../session/names.ts'
import type {OutputEvent} from '../session/types.ts'
import {byteLength, type StoreContext} from './context.ts'
import {assertOutputLimit} from './output-limit.ts'
import {inPages, PAGE} from './pages.ts'
import {assertOutputEvent} from './validate.ts'
import {beforeWriting, reportRedacted, type Written} from './writing.ts'

/** How often a follower looks for new events, in ms, by default. */
export const DEFAULT_FOLLOW_POLL_MS = 50

/** Statuses after which nothing more is appended: a follower stops there. */
const FINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'terminated'])

/** An output event as stored: with its sequence number (1-based, rising, never reused, even after eviction). */
export interface StoredOutputEvent extends OutputEvent {
  seq: number
}

/** What a session's output buffer holds and what it has evicted (`store.outputStats`). */
export interface OutputStats {
  sessionId: string
  /** Events held now. */
  events: number
  /** UTF-8 bytes of the `data` of the events held now. */
  bytes: number
  /** The bound in bytes that applies: the session's own, else the store's. */
  limit: number
  /** Whether {@link limit} is the session's own (`session`) or the store's default (`store`). */
  limitSource: 'session' | 'store'
  /** Events evicted so far (oldest first, whole events only), and their bytes. */
  evictedEvents: number
  evictedBytes: number
  /** Sequence numbers of the oldest event held (`null` when empty) and of the newest ever appended (0: none). */
  firstSeq: number | null
  lastSeq: number
  /** Times of the oldest and newest events held, in seconds since the recording started (`null` when empty). */
  firstTime: number | null
  lastTime: number | null
}

/** A point of the buffer to start or stop at: a time in seconds since the recording started, or the first marker (`m` event) with this label. */
export type ReplayPoint = number | {marker: string}

/** Options of `store.replay()`. */
export interface ReplayOptions {
  /** Playback speed factor, > 0 (default 1: the original timing; 2 is twice as fast). */
  speed?: number
  /** Longest pause in seconds (asciinema's `idle_time_limit`): a longer gap between events is cut to this. */
  idleLimit?: number
  /** `false` delivers every event at once, ignoring timing (default `true`). */
  wait?: boolean
  /** Start here: events before it are skipped. */
  from?: ReplayPoint
  /** Stop here: events after it (or after the marker) are not delivered. */
  to?: ReplayPoint
  /** After the buffered events, keep delivering new ones as they are appended until the session is `completed` or `terminated` (or trashed). */
  follow?: boolean
  /** How often a follower polls the database for new events, in ms (default {@link DEFAULT_FOLLOW_POLL_MS}). */
  pollMs?: number
  /** Aborting stops the replay at once (the promise resolves with `aborted: true`). */
  signal?: AbortSignal
}

/** Outcome of `store.replay()`. */
export interface ReplayResult {
  /** Events delivered to the sink. */
  events: number
  /** UTF-8 bytes of the `data` of the `o` and `e` events delivered. */
  bytes: number
  /** Whether `signal` stopped it. */
  aborted: boolean
  /** Whether `to` was reached. */
  reachedTo: boolean
}

/** Receives each event at its time; a returned promise is awaited before the next event. */
export type ReplaySink = (event: StoredOutputEvent) => unknown

/** Options of `store.appendOutput()`. */
export interface AppendOutputOptions {
  /**
   * Events the caller dropped, oldest first, before they reached the store: counted as evicted.
   * They come after every event appended before and before `events`, and take sequence numbers
   * of their own (never reused), so that `events + evictedEvents` and `bytes + evictedBytes` of
   * {@link OutputStats} still add up to everything recorded. Since eviction is oldest first, the
   * events the buffer held before (older than these) are evicted too: the buffer keeps holding
   * one unbroken newest stretch of the stream. A recorder that falls behind the store drops what
   * the bound would evict anyway (more than the bound came after it), to keep its memory bounded.
   */
  evicted?: EvictedOutput
}

/** A count of output events and of the UTF-8 bytes of their `data`, each a whole number ≥ 0. */
export interface EvictedOutput {
  events: number
  bytes: number
}

/**
 * See `Store.appendOutput`. One write transaction for all of `events`: the session's counters,
 * the buffer's last sequence number and evicted counts (with `options.evicted`, which also
 * evicts all the buffer held), the rows, and eviction of the oldest whole events while the
 * buffer is over its bound (counted in `output_buffers`). Readers never block it (WAL). Only
 * while a handler of `records.writing` is registered, that event runs first for the events (see
 * {@link beforeWriting}) and the events written are those its handlers leave.
 *
 * @param settings reads the store's settings, for the handlers of `records.writing`.
 */
export async function appendOutputEvents(ctx: StoreContext, ref: string, given: readonly OutputEvent[], settings: () => SessConfig, options: AppendOutputOptions = {}): Promise<number> {
  for (const event of given) assertOutputEvent(event)
  const evicted = options.evicted === undefined ? {bytes: 0, events: 0} : options.evicted
  assertEvicted(evicted)
  if (given.length === 0 && evicted.events === 0) return (await outputStats(ctx, ref)).lastSeq
  let events = given
  let target = ref
  let written: Written<{output: readonly OutputEvent[]}> | undefined
  if (given.length > 0 && ctx.bus.has('records.writing')) {
    written = await beforeWriting(ctx, ref, {output: given}, settings)
    target = written.sessionId
    events = written.content.output
  }
  const sizes = events.map((event) => byteLength(event.data))
  const total = sizes.reduce((sum, size) => sum + size, 0)
  const now = ctx.now()
  const byId = isSessionId(target)
  const appended = await ctx.write(async (trx) => {
    const bumped = await ctx.prepared.execute(
      trx,
      byId ? 'output.bump.id' : 'output.bump.name',
      (param) =>
        trx
          .updateTable('sessions')
          .set((eb) => ({last_activity_at: param('now'), output_bytes: eb('output_bytes', '+', param('bytes'))}))
          .where(byId ? 'id' : 'name', '=', param('ref'))
          .where('trashed_at', 'is', null)
          .returning(['id', 'output_bytes']),
      {bytes: total, now, ref: target},
    )
    const session = bumped.rows[0]
    if (!session) return undefined
    await checkFence(ctx, trx, session.id)
    const claimed = await ctx.prepared.execute(
      trx,
      'output.claim',
      (param) =>
        trx
          .insertInto('output_buffers')
          .values((eb) => ({
            evicted_bytes: param('evictedBytes'),
            evicted_events: param('evictedEvents'),
            // A buffer filled before it had a row (an import) continues after its highest seq.
            last_seq: eb(eb.fn.coalesce(eb.selectFrom('output_events').select((s) => s.fn.max('seq').as('seq')).where('session_id', '=', param('id')), eb.lit(0)), '+', param('count')),
            session_id: param('id'),
          }))
          .onConflict((oc) =>
            oc.column('session_id').doUpdateSet((eb) => ({
              evicted_bytes: eb('output_buffers.evicted_bytes', '+', param('evictedBytes')),
              evicted_events: eb('output_buffers.evicted_events', '+', param('evictedEvents')),
              last_seq: eb('output_buffers.last_seq', '+', param('count')),
            })),
          )
          .returning(['last_seq', 'limit_bytes']),
      {count: evicted.events + events.length, evictedBytes: evicted.bytes, evictedEvents: evicted.events, id: session.id},
    )
    const buffer = claimed.rows[0]!
    const first = Number(buffer.last_seq) - events.length + 1
    // Events held now are older than those the caller evicted: they go first.
    const freed = evicted.events > 0 ? await evictOutput(trx, session.id, Number.POSITIVE_INFINITY) : 0
    for (const [index, event] of events.entries()) {
      await ctx.prepared.execute(
        trx,
        'output.insert',
        (param) =>
          trx.insertInto('output_events').values({bytes: param('bytes'), code: param('code'), data: param('data'), seq: param('seq'), session_id: param('id'), time: param('time')}),
        {bytes: sizes[index], code: event.code, data: event.data, id: session.id, seq: first + index, time: event.time},
      )
    }
    const limit = buffer.limit_bytes === null ? ctx.outputLimit : Number(buffer.limit_bytes)
    const held = Number(session.output_bytes) - freed
    if (held > limit) await evictOutput(trx, session.id, held - limit)
    return {first, id: session.id}
  })
  if (!appended) throw ctx.notFound(ref)
  for (const [index, event] of events.entries()) await ctx.bus.emit('output.appended', {event, seq: appended.first + index, sessionId: appended.id})
  const last = appended.first + events.length - 1
  await reportRedacted(ctx, written, 'output', last)
  return last
}

/** @throws {InvalidInputError} unless `evicted` holds whole numbers ≥ 0, and no bytes without events. */
function assertEvicted(evicted: EvictedOutput): void {
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0
  if (typeof evicted !== 'object' || evicted === null || !whole(evicted.events) || !whole(evicted.bytes) || (evicted.events === 0 && evicted.bytes > 0)) {
    throw new InvalidInputError('Evicted output must be {events, bytes}: whole numbers ≥ 0 (bytes only with events).')
  }
}

/**
 * Deletes the oldest whole events of a session's buffer until at least `excess` bytes are freed
 * (all of them with `Infinity`), and counts them as evicted. Runs inside the writing transaction.
 *
 * @returns the bytes freed.
 */
async function evictOutput(trx: Kysely<Database>, id: string, excess: number): Promise<number> {
  let freed = 0
  let count = 0
  let cutoff = 0
  for await (const row of trx.selectFrom('output_events').select(['seq', 'bytes']).where('session_id', '=', id).orderBy('seq').stream(64)) {
    freed += Number(row.bytes)
    count += 1
    cutoff = Number(row.seq)
    if (freed >= excess) break
  }
  if (count === 0) return 0
  await trx.deleteFrom('output_events').where('session_id', '=', id).where('seq', '<=', cutoff).execute()
  await trx.updateTable('sessions').set((eb) => ({output_bytes: eb('output_bytes', '-', freed)})).where('id', '=', id).execute()
  await trx
    .updateTable('output_buffers')
    .set((eb) => ({evicted_bytes: eb('evicted_bytes', '+', freed), evicted_events: eb('evicted_events', '+', count)}))
    .where('session_id', '=', id)
    .execute()
  return freed
}

/** See `Store.outputStats`. */
export async function outputStats(ctx: StoreContext, ref: string, options: {includeTrashed?: boolean} = {}): Promise<OutputStats> {
  const row = await ctx.row(ref, options.includeTrashed)
  const buffer = await ctx.db.selectFrom('output_buffers').selectAll().where('session_id', '=', row.id).executeTakeFirst()
  const events = ctx.db.selectFrom('output_events').where('session_id', '=', row.id)
  const counted = await events.select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.max('seq').as('last')]).executeTakeFirstOrThrow()
  const oldest = await events.select(['seq', 'time']).orderBy('seq').limit(1).executeTakeFirst()
  const newest = await events.select(['seq', 'time']).orderBy('seq', 'desc').limit(1).executeTakeFirst()
  const own = buffer?.limit_bytes ?? null
  return {
    bytes: Number(row.output_bytes),
    events: Number(counted.count),
    evictedBytes: Number(buffer?.evicted_bytes ?? 0),
    evictedEvents: Number(buffer?.evicted_events ?? 0),
    firstSeq: oldest ? Number(oldest.seq) : null,
    firstTime: oldest ? Number(oldest.time) : null,
    lastSeq: Math.max(Number(buffer?.last_seq ?? 0), Number(counted.last ?? 0)),
    lastTime: newest ? Number(newest.time) : null,
    limit: own === null ? ctx.outputLimit : Number(own),
    limitSource: own === null ? 'store' : 'session',
    sessionId: row.id,
  }
}

/**
 * See `Store.setOutputLimit`. A smaller bound evicts at once; `null` returns the session to the
 * store's default.
 */
export async function setOutputLimit(ctx: StoreContext, ref: string, bytes: number | null): Promise<OutputStats> {
  if (bytes !== null) assertOutputLimit(bytes)
  const {id} = await ctx.row(ref)
  await ctx.write(async (trx) => {
    await checkFence(ctx, trx, id)
    await trx
      .insertInto('output_buffers')
      .values((eb) => ({
        last_seq: eb.fn.coalesce(eb.selectFrom('output_events').select((s) => s.fn.max('seq').as('seq')).where('session_id', '=', id), eb.lit(0)),
        limit_bytes: bytes,
        session_id: id,
      }))
      .onConflict((oc) => oc.column('session_id').doUpdateSet({limit_bytes: bytes}))
      .execute()
    const {output_bytes} = await trx.selectFrom('sessions').select('output_bytes').where('id', '=', id).executeTakeFirstOrThrow()
    const limit = bytes ?? ctx.outputLimit
    if (Number(output_bytes) > limit) await evictOutput(trx, id, Number(output_bytes) - limit)
  })
  return outputStats(ctx, id)
}

/** Options of `store.output()`. */
export interface ReadOutputOptions {
  /** Only events with `seq` greater than this (default 0: all the buffer holds). */
  after?: number
  /** After the events held, wait for new ones until the session is `completed` or `terminated`, trashed or deleted, or `signal` aborts: `tail -f` for a session. */
  follow?: boolean
  /** How often a follower polls the database for new events, in ms (default {@link DEFAULT_FOLLOW_POLL_MS}). */
  pollMs?: number
  /** Aborting ends the stream (no error). */
  signal?: AbortSignal
  /** Also read a session in the trash. */
  includeTrashed?: boolean
}

/**
 * See `Store.output`. Pages through the buffer by `seq`; with `follow`, when it runs out it
 * polls every `pollMs` until the session's status is final (then reads once more, so nothing
 * appended before the status changed is missed), or it is trashed or deleted, or `signal` aborts.
 */
export async function* followOutput(ctx: StoreContext, ref: string, options: ReadOutputOptions = {}): AsyncGenerator<StoredOutputEvent> {
  const {id} = await ctx.row(ref, options.includeTrashed)
  const pollMs = options.pollMs ?? DEFAULT_FOLLOW_POLL_MS
  let last = options.after ?? 0
  for (let lastRead = false; ; ) {
    const rows = inPages(last, (after) =>
      ctx.db.selectFrom('output_events').select(['seq', 'time', 'code', 'data']).where('session_id', '=', id).where('seq', '>', after).orderBy('seq').limit(PAGE).execute(),
    )
    for await (const row of rows) {
      if (options.signal?.aborted) return
      last = Number(row.seq)
      yield {code: row.code as OutputEvent['code'], data: row.data, seq: last, time: Number(row.time)}
    }
    if (!options.follow || lastRead || options.signal?.aborted) return
    const session = await ctx.db.selectFrom('sessions').select(['status', 'trashed_at']).where('id', '=', id).executeTakeFirst()
    if (!session || session.trashed_at !== null || FINAL_STATUSES.has(session.status)) lastRead = true
    else await sleep(pollMs, options.signal)
  }
}

/**
 * See `Store.replay`. Delivers each event to `sink` at its original time (scaled by `speed`,
 * pauses capped at `idleLimit`), measured from the start of the replay against the monotonic
 * clock, so that delays do not add up.
 */
export async function replayOutput(ctx: StoreContext, ref: string, sink: ReplaySink, options: ReplayOptions = {}): Promise<ReplayResult> {
  const speed = options.speed ?? 1
  if (!(Number.isFinite(speed) && speed > 0)) throw new InvalidInputError(`The replay speed must be a number > 0, not ${speed}.`)
  const idleLimit = options.idleLimit
  if (idleLimit !== undefined && !(Number.isFinite(idleLimit) && idleLimit > 0)) throw new InvalidInputError(`The idle limit must be seconds > 0, not ${idleLimit}.`)
  for (const point of [options.from, options.to]) {
    if (typeof point === 'number' && !(Number.isFinite(point) && point >= 0)) throw new InvalidInputError(`A replay bound must be seconds ≥ 0 or a marker, not ${point}.`)
  }
  const {id} = await ctx.row(ref)
  if (!options.follow) {
    for (const point of [options.from, options.to]) if (typeof point === 'object') await assertMarker(ctx, id, point.marker)
  }
  const wait = options.wait ?? true
  const result: ReplayResult = {aborted: false, bytes: 0, events: 0, reachedTo: false}
  const started = performance.now()
  let begun = options.from === undefined
  let previous = typeof options.from === 'number' ? options.from : undefined
  let virtual = 0
  for await (const event of followOutput(ctx, id, {follow: options.follow, pollMs: options.pollMs, signal: options.signal})) {
    if (!begun) {
      const from = options.from!
      begun = typeof from === 'number' ? event.time >= from : event.code === 'm' && event.data === from.marker
      if (!begun) continue
      previous ??= event.time
    }
    const to = options.to
    if (to !== undefined && (typeof to === 'number' ? event.time > to : event.code === 'm' && event.data === to.marker)) {
      result.reachedTo = true
      break
    }
    let gap = Math.max(0, event.time - (previous ?? 0))
    if (idleLimit !== undefined) gap = Math.min(gap, idleLimit)
    virtual += gap
    previous = Math.max(previous ?? 0, event.time)
    if (wait) await sleep(started + (virtual / speed) * 1000 - performance.now(), options.signal)
    if (options.signal?.aborted) break
    await sink(event)
    result.events += 1
    if (event.code === 'o' || event.code === 'e') result.bytes += byteLength(event.data)
  }
  result.aborted = options.signal?.aborted ?? false
  return result
}

/** @throws {NotFoundError} when the buffer has no marker `label`. */
async function assertMarker(ctx: StoreContext, id: string, label: string): Promise<void> {
  const found = await ctx.db.selectFrom('output_events').select('seq').where('session_id', '=', id).where('code', '=', 'm').where('data', '=', label).limit(1).executeTakeFirst()
  if (!found) throw new NotFoundError(`The output buffer has no marker ${JSON.stringify(label)}.`, {hint: 'A time in seconds works too; markers are `m` events.'})
}
