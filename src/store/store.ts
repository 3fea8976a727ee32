import {type AutoGc, type AutoGcOptions, startAutoGc} from '../../plugins/cleanup/src/auto-gc.ts'
import {policyFromConfig} from '../../plugins/cleanup/src/config.ts'
import {type DoctorOptions, type DoctorReport, runDoctor} from '../../plugins/cleanup/src/doctor.ts'
import {type GcOptions, type GcReport, runGc} from '../../plugins/cleanup/src/gc.ts'
import {type StoreStats, storeStats} from '../../plugins/cleanup/src/stats.ts'
import type {RetentionPolicy} from '../../plugins/cleanup/src/policy.ts'
import type {LifecycleBus} from '../bus/index.ts'
import {CachedConfig} from '../config/cached.ts'
import {readConfig, type SessConfig, writeSetting} from '../config/index.ts'
import {type CloseResult, closeSession, newSession, type NewSessionInput, switchTo, type SwitchOptions, type SwitchResult} from '../coordinator/coordinator.ts'
import {pauseIdleSessions} from '../coordinator/idle.ts'
import {type CurrentSession, currentSession, type Here, place} from '../coordinator/pointers.ts'
import {sessionSettings} from '../coordinator/settings.ts'
import {type MigrationState, migrateToLatest, migrationStatus} from '../db/migrate.ts'
import {acquireLock, leaseFromToken, type LockOptions} from '../lock/acquire.ts'
import type {Lease} from '../lock/lease.ts'
import {lockStates} from '../lock/status.ts'
import {type SearchHit, type SearchOptions, searchRecords} from '../search/search.ts'
import type {SessionStatus} from '../session/status.ts'
import type {LockState, OutputEvent, Session, SessionRecord, StoredRecord} from '../session/types.ts'
import {StoreContext, type StoreContextParts} from './context.ts'
import {storeLayout} from './home.ts'
import {forkSession, restoreSession} from './export.ts'
import {listVersions, saveOriginal} from './import.ts'
import type {ListFilter} from './list-filter.ts'
import {createSession, getSession, listSessions, pinSession, removeSession, renameSession, setSessionStatus, untrashSession} from './sessions.ts'
import {readSnapshot, saveSnapshot} from './snapshots.ts'
import {type AppendOutputOptions, appendOutputEvents, followOutput, type OutputStats, outputStats, type ReadOutputOptions, type ReplayOptions, type ReplayResult, type ReplaySink, replayOutput, setOutputLimit, type StoredOutputEvent} from './output.ts'
import {appendRecord, readRecords} from './transcript.ts'
import type {CreateSessionInput, RestoreOptions, RestoreResult, SaveInput, SaveResult, VersionInfo} from './types.ts'

export {DEFAULT_SNAPSHOTS_KEPT} from './snapshots.ts'
export {DEFAULT_OUTPUT_LIMIT} from './output-limit.ts'

/** What a {@link Store} is built from; see `openStore()`. */
export interface StoreParts extends StoreContextParts {
  /** Taken (flock) while migrations run. */
  migrateLock: string
  /** Warnings from opening (e.g. permissions fixed). */
  warnings: string[]
}

/**
 * A session store (DESIGN §4). Every operation the CLI offers goes through it. Obtain one with
 * `openStore()`; close it with `close()` or `await using`. A session is named by its id (ULID) or
 * its name wherever a `ref` is taken.
 *
 * Durability: a write resolves once it is committed — a SQLite WAL commit with `synchronous=FULL`
 * for index and transcript rows, an fsynced temp file renamed into place for blobs; on PostgreSQL
 * a synchronous commit for both — and is then wholly there after a crash at any instant; one that
 * had not resolved is wholly absent.
 *
 * @example
 * ```ts
 * await using store = await openStore()
 * const session = await store.create({name: 'demo', kind: 'chat'})
 * await store.append(session.id, {type: 'message', role: 'user', parts: [{type: 'text', text: 'hi'}]})
 * ```
 */
export class Store implements AsyncDisposable {
  /** The home directory of this store. */
  readonly home: string
  /** The lifecycle bus of this store: register handlers with `bus.plugin(name).on(…)`. */
  readonly bus: LifecycleBus
  /** Things the user should know about the store itself (e.g. permissions fixed on open). */
  readonly warnings: readonly string[]
  readonly #ctx: StoreContext
  readonly #migrateLock: string
  readonly #config: CachedConfig
  /** {@link config}, for the handlers of `session.saving` and `records.writing`. */
  readonly #settings = (): SessConfig => this.config()

  constructor(parts: StoreParts) {
    this.home = parts.home
    this.bus = parts.bus
    this.warnings = parts.warnings
    this.#migrateLock = parts.migrateLock
    this.#ctx = new StoreContext(parts)
    this.#config = new CachedConfig(storeLayout(parts.home))
  }

  /**
   * Creates a live session owned by the calling process (host, pid, process start time).
   *
   * @throws {InvalidInputError} for an invalid name or tag. @throws {ConflictError} when the name is taken.
   */
  create(input: CreateSessionInput = {}): Promise<Session> {
    return createSession(this.#ctx, input)
  }

  /**
   * A session's metadata.
   *
   * @throws {NotFoundError} when there is none (in the trash only with `includeTrashed`).
   */
  get(ref: string, options: {includeTrashed?: boolean} = {}): Promise<Session> {
    return getSession(this.#ctx, ref, options.includeTrashed)
  }

  /** Sessions matching `filter`, newest activity first. Reads the index only, never content. */
  list(filter: ListFilter = {}): Promise<Session[]> {
    return listSessions(this.#ctx, filter)
  }

  /**
   * Starts a session the way a chat CLI's "new chat" does (`sess new`): `active`, owned by
   * `input.ownerPid` (default this process), current in this terminal (or with `scope:
   * 'directory'`, this directory) and in the foreground; the session current there before goes to
   * the background (`session.backgrounded`). A name is generated from kind and time when none is
   * given (`chat-20261121-143210`, suffixed `-2`… on collision). Idle sessions are paused first
   * (see {@link pauseIdle}). Outside any terminal (and without `SESS_TERMINAL`) no pointer is set.
   *
   * @throws {LimitError} when `sessions.maxActive` sessions are already in use (nothing is created).
   * @throws {InvalidInputError} for an invalid name or tag. @throws {ConflictError} when the name is taken.
   * @example
   * ```ts
   * const {session, previous} = await store.newSession({kind: 'chat'})
   * ```
   */
  newSession(input: NewSessionInput = {}): Promise<SwitchResult> {
    return newSession(this.#ctx, this.#sessionSettings(), input)
  }

  /**
   * Makes `ref` the current session of this terminal (default; `here.terminal` to name another)
   * or of this directory (`scope: 'directory'`, like a repository-local git setting), as `git
   * switch` or tmux's switch-client do. It comes to the foreground: the output it missed while in
   * the background (after the sequence number recorded then) goes to `options.sink`, in order,
   * through the replay plugin (`session.foregrounded`; without the plugin, nothing is replayed).
   * The session current there before goes to the background, unless another terminal still shows
   * it. A `paused` or `completed` session is resumed: `active` again, owned by the caller, within
   * `sessions.maxActive`. Idle sessions are paused first.
   *
   * @throws {NotFoundError} for an unknown session, or one in the trash.
   * @throws {LimitError} when resuming would exceed `sessions.maxActive`.
   * @throws {InvalidInputError} for the terminal scope when this process runs in no terminal.
   * @example
   * ```ts
   * await store.switchTo('fix-login', {sink: (event) => process.stdout.write(event.data)})
   * await store.switchTo('fix-login', {scope: 'directory', here: {cwd: '/home/me/app'}})
   * ```
   */
  switchTo(ref: string, options: SwitchOptions = {}): Promise<SwitchResult> {
    return switchTo(this.#ctx, this.#sessionSettings(), ref, options)
  }

  /**
   * The current session here: this terminal's pointer first, else that of the nearest directory
   * among the working directory and its ancestors (`sess current`).
   *
   * @throws {NotFoundError} when there is none, or when it names a session now in the trash or deleted (saying which, and the fix).
   */
  current(here: Here = {}): Promise<CurrentSession> {
    return currentSession(this.#ctx, place(here))
  }

  /**
   * Closes session `ref` (default: the current one here), as a chat CLI closes a chat: `completed`
   * through the state machine (closed time set; `session.status_changed`), its lock released if
   * this process, process `holderPid`, or a lease token this store was given holds it, every
   * current-session pointer to it removed, and its mode back to the background. Closing a
   * `completed` or `terminated` session changes its status no further.
   *
   * @throws {NotFoundError} for an unknown session, or when no `ref` is given and there is no current session.
   */
  closeSession(ref?: string, options: {here?: Here; holderPid?: number} = {}): Promise<CloseResult> {
    return closeSession(this.#ctx, ref, options)
  }

  /**
   * Applies the idle timeout (`sessions.idleTimeout`; none by default): every live `active` or
   * `waiting_for_input` session whose last activity is older than that is paused through the
   * state machine (`session.status_changed`), unless its lock is held. Runs at the start of
   * {@link newSession} and {@link switchTo}, of `sess list` and `sess current`, and before each
   * run of {@link startAutoGc}.
   *
   * @returns the sessions paused now.
   */
  pauseIdle(): Promise<Session[]> {
    return pauseIdleSessions(this.#ctx, this.#sessionSettings().idleTimeout)
  }

  /**
   * Renames a session; its current-session pointers follow it.
   *
   * @throws {InvalidInputError} for an invalid name. @throws {ConflictError} when it is taken. @throws {NotFoundError} for an unknown session.
   */
  rename(ref: string, newName: string): Promise<Session> {
    return renameSession(this.#ctx, ref, newName)
  }

  /**
   * Moves a session to `status` through the one state machine and emits `session.status_changed`.
   * Setting the status it already has is a no-op.
   *
   * @throws {InvalidTransitionError} when the move is not allowed.
   */
  setStatus(ref: string, status: SessionStatus): Promise<Session> {
    return setSessionStatus(this.#ctx, ref, status)
  }

  /**
   * Appends a record to a session's transcript; durable once it resolves. Runs `records.writing`
   * first while a handler is registered for it: with `redact.enabled` set, the redact plugin masks
   * credentials in the record, and `records.redacted` reports what it masked. Emits `record.appended`.
   *
   * @returns the record's sequence number (1-based, gap-free).
   * @throws {InvalidInputError} when `record` is not a valid record. @throws {VetoError} when a plugin vetoes.
   */
  append(ref: string, record: SessionRecord): Promise<number> {
    return appendRecord(this.#ctx, ref, record, this.#settings)
  }

  /**
   * Full-text search over the transcripts of every session (`sess search`): message text, tool
   * names, tool arguments and results (see `recordText`). Every word of `query` must match (case
   * and diacritics ignored), `"quoted phrases"` as phrases, and no character is an operator, so
   * any text is a valid query (see `parseQuery`). Hits that hold the whole query as one phrase
   * come first, then by relevance (bm25). Sessions in the trash are left out unless
   * `includeTrashed`. The index is written in the same transaction as the records, so an append
   * or a save is found as soon as it resolves.
   *
   * @param options.kind only sessions of this kind (or kinds). @param options.since only sessions
   *   active at or after this time (ms). @param options.session only this session (id or name).
   * @param options.limit at most this many hits (default 20; 0 for all).
   * @returns the hits, best first, each with its session, the record's `seq`, and a snippet.
   * @throws {InvalidInputError} when the query holds no word, or for a bad limit.
   * @throws {NotFoundError} for an unknown `options.session`.
   * @throws {StorageError} when the search index is missing or damaged (`sess doctor --fix` rebuilds it).
   * @example
   * ```ts
   * for (const hit of await store.search('"login bug" auth', {kind: 'agent', limit: 5})) {
   *   console.log(`${hit.name} #${hit.seq} ${hit.snippet}`)
   * }
   * ```
   */
  search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    return searchRecords(this.#ctx, query, options)
  }

  /**
   * Transcript records in order, streamed from the database (never the whole session in memory).
   *
   * @param options.after only records with `seq` greater than this. @param options.last only the last N.
   */
  records(ref: string, options: {after?: number; last?: number; includeTrashed?: boolean} = {}): AsyncGenerator<StoredRecord> {
    return readRecords(this.#ctx, ref, options)
  }

  /**
   * Appends timed terminal events to the output buffer: one event, or many in one transaction
   * (durable once it resolves). While the buffer holds more than its bound (the session's own,
   * else the store's: {@link DEFAULT_OUTPUT_LIMIT} unless `openStore({outputLimit})` or
   * `SESS_OUTPUT_LIMIT` says otherwise), the oldest whole events are evicted and counted (see
   * {@link outputStats}). Runs `records.writing` first for the events while a handler is registered
   * for it (with `redact.enabled` set, the redact plugin masks credentials in their `data`).
   * Emits `output.appended` for each event.
   *
   * @param options.evicted events the caller dropped, oldest first, before they reached the
   * store (`{events, bytes}`, bytes of UTF-8 `data`): counted as evicted in the same transaction,
   * numbered before `events` (so sequence numbers stay rising and are never reused). The events
   * the buffer held, older than those, are evicted with them (oldest first, so the buffer holds one
   * unbroken newest stretch of the stream). `events` may then be empty.
   * @returns the sequence number of the last event appended (or counted as evicted).
   * @throws {InvalidInputError} for an invalid event or evicted count. @throws {NotFoundError} for an unknown session.
   * @throws {VetoError} when a plugin vetoes.
   */
  appendOutput(ref: string, events: OutputEvent | readonly OutputEvent[], options: AppendOutputOptions = {}): Promise<number> {
    return appendOutputEvents(this.#ctx, ref, Array.isArray(events) ? events : [events as OutputEvent], this.#settings, options)
  }

  /**
   * The output buffer's events in order, with their sequence numbers, streamed from the database
   * in pages (never the whole buffer in memory). With `follow` it then waits for new events
   * (polling every `pollMs`, default 50) until the session is `completed` or `terminated`,
   * trashed, or `signal` aborts: `tail -f` for a session.
   *
   * @param options.after only events with `seq` greater than this.
   * @throws {NotFoundError} for an unknown session (or a trashed one, unless `includeTrashed`).
   */
  output(ref: string, options: ReadOutputOptions = {}): AsyncGenerator<StoredOutputEvent> {
    return followOutput(this.#ctx, ref, options)
  }

  /**
   * Replays the output buffer into `sink`, each event at its original time (scaled by
   * `options.speed`, pauses capped at `options.idleLimit` seconds, or all at once with
   * `wait: false`), between `from` and `to` (seconds or markers), following new events live with
   * `follow`. A promise returned by `sink` is awaited.
   *
   * @throws {InvalidInputError} for a bad speed, idle limit or bound.
   * @throws {NotFoundError} for an unknown session, or (without `follow`) a marker the buffer lacks.
   */
  replay(ref: string, sink: ReplaySink, options: ReplayOptions = {}): Promise<ReplayResult> {
    return replayOutput(this.#ctx, ref, sink, options)
  }

  /** What the output buffer holds, its bound, and what it has evicted so far. */
  outputStats(ref: string, options: {includeTrashed?: boolean} = {}): Promise<OutputStats> {
    return outputStats(this.#ctx, ref, options)
  }

  /**
   * Sets a session's own output-buffer bound in bytes (`null`: back to the store's). A bound below
   * what the buffer holds evicts at once.
   *
   * @throws {InvalidInputError} unless `bytes` is a whole number ≥ 1 or `null`.
   */
  setOutputLimit(ref: string, bytes: number | null): Promise<OutputStats> {
    return setOutputLimit(this.#ctx, ref, bytes)
  }

  /**
   * Saves application state atomically as the newest snapshot, keeping the last `keep` (default
   * {@link DEFAULT_SNAPSHOTS_KEPT}). A string is stored as UTF-8, a `Uint8Array` as is, anything
   * else as JSON. Runs `records.writing` first for those bytes while a handler is registered for
   * it (with `redact.enabled` set, the redact plugin masks credentials in them).
   *
   * @returns the snapshot's sequence number. @throws {VetoError} when a plugin vetoes.
   */
  snapshot(ref: string, state: unknown, options: {keep?: number} = {}): Promise<number> {
    return saveSnapshot(this.#ctx, ref, state, this.#settings, options.keep)
  }

  /**
   * The newest snapshot (or snapshot `seq`), its bytes checked against their SHA-256.
   *
   * @throws {NotFoundError} when there is no such snapshot.
   */
  latestSnapshot(ref: string, seq?: number): Promise<{seq: number; bytes: Uint8Array}> {
    return readSnapshot(this.#ctx, ref, seq)
  }

  /**
   * Imports an original (Claude Code, Codex, Gemini CLI, asciicast, sess JSONL, or raw JSON) as a
   * new session, or as a new version of `input.into`. Runs `session.saving` (plugins may redact or
   * veto; the persistence plugin parses), keeps the bytes as the handlers left them, exactly, and
   * indexes the parse. With `redact.enabled` set, the redact plugin masks credentials first and
   * `redacted` counts them by rule. Idempotent: bytes already saved (after masking) give
   * `unchanged: true` and write nothing.
   *
   * @throws {NotASessionError} when no format handler can read the bytes.
   * @throws {VetoError} when a plugin vetoes. @throws {ConflictError} when `input.name` is taken.
   */
  save(input: SaveInput): Promise<SaveResult> {
    return saveOriginal(this.#ctx, input, this.#settings)
  }

  /** The saved versions of an imported session's original, oldest first. */
  versions(ref: string, options: {includeTrashed?: boolean} = {}): Promise<VersionInfo[]> {
    return listVersions(this.#ctx, ref, options.includeTrashed)
  }

  /**
   * Writes a session back out: its saved original byte for byte when `format` is the original's
   * (the default), else converted through `session.restoring` (the persistence plugin writes
   * `sess`, `markdown` and `asciicast`).
   *
   * @throws {NotFoundError} for an unknown session or version.
   * @throws {InvalidInputError} when no handler can write `format`.
   * @throws {StorageError} when the stored original fails its checksum.
   */
  restore(ref: string, options: RestoreOptions = {}): Promise<RestoreResult> {
    return restoreSession(this.#ctx, ref, options)
  }

  /**
   * A new session from a saved one: the same transcript, output buffer, latest original and tags,
   * `parentId` set, status `active`.
   *
   * @throws {ConflictError} when `name` is taken.
   */
  fork(ref: string, name: string): Promise<Session> {
    return forkSession(this.#ctx, ref, name)
  }

  /**
   * Moves a session to the trash (recoverable with {@link untrash}), or with `purge` deletes it
   * and its content at once: its rows in one transaction, then its files. Emits `session.removed`.
   *
   * @throws {NotFoundError} for an unknown session.
   * @throws {StorageError} when the database fails (nothing changed), or when a purge deleted the
   *   rows but not the files (the session is purged; the files are left for `gc`, which
   *   quarantines them).
   */
  remove(ref: string, options: {purge?: boolean} = {}): Promise<Session> {
    return removeSession(this.#ctx, ref, options.purge === true)
  }

  /**
   * Brings a session back from the trash.
   *
   * @throws {NotFoundError} when it is not in the trash. @throws {ConflictError} when its name was taken meanwhile.
   */
  untrash(ref: string): Promise<Session> {
    return untrashSession(this.#ctx, ref)
  }

  /**
   * Pins a session (or with `pinned: false` unpins it): `gc` never collects a pinned session,
   * whatever the retention policy says. A session in the trash may be pinned too (it is then
   * never purged). Pinning is not a write to the session's content, so it needs no lock.
   *
   * @throws {NotFoundError} for an unknown session.
   */
  pin(ref: string, pinned = true): Promise<Session> {
    return pinSession(this.#ctx, ref, pinned)
  }

  /**
   * Takes session `ref`'s lock for this process and returns its lease (DESIGN §4, §7). While it is
   * held, every write to the session (append, appendOutput, snapshot, save of a new version,
   * setStatus, rename, remove) carries its fencing token and is refused once the lease is lost;
   * writers without the lock wait for it. A lock whose holder is provably dead (same host: no
   * such pid, another process start time, another boot) is taken over at once; any other waits
   * for its lease to expire. Emits `lock.acquired` (and `lock.broken` on a takeover).
   *
   * Performance: uncontended, a grant and a release are one unflushed statement each (tens of µs).
   *
   * @param options.wait ms to wait for a held lock (default 0: fail at once).
   * @param options.ttl lease length in ms (default 30 s), renewed automatically every `ttl / 3`.
   * @throws {LockError} when the lock is still held after `wait` (the message names the holder).
   * @throws {NotFoundError} for an unknown session. @throws {InvalidInputError} for bad options.
   * @example
   * ```ts
   * await using lease = await store.lock('support-42', {wait: 10_000})
   * await store.append('support-42', record) // refused if the lease was lost meanwhile
   * ```
   */
  lock(ref: string, options: LockOptions = {}): Promise<Lease> {
    return acquireLock(this.#ctx, ref, options)
  }

  /**
   * The lease a printed token names (from `lease.detach()`, `sess lock acquire`), to renew or
   * release it. It is not renewed automatically nor released when this store closes.
   *
   * @throws {InvalidInputError} for a malformed token or one this store never granted.
   * @throws {LockError} when that lease no longer holds its lock.
   */
  lease(token: string): Promise<Lease> {
    return leaseFromToken(this.#ctx, token)
  }

  /**
   * Every held lock, or the lock of session `ref` whether held or not (empty if it was never
   * locked): holder, ages, fencing token, and whether it is stale and why.
   *
   * @throws {NotFoundError} for an unknown `ref`.
   */
  locks(ref?: string): Promise<LockState[]> {
    return lockStates(this.#ctx, ref)
  }

  /**
   * Applies a retention policy and cleans what crashes leave (DESIGN §3 `sess gc`). Without
   * `policy`, the one the settings file holds (`sess config set gc.maxAge 30d`…). In order:
   * - releases stale locks (lease expired, or holder provably dead);
   * - deletes temp files of atomic writes that never finished; moves content no row names into
   *   `$SESS_HOME/quarantine/`; unindexes rows whose content is missing or of the wrong length
   *   (all under the store's content lock, so that no write in flight is touched);
   * - moves the sessions the policy names to the trash (see {@link RetentionPolicy}: never a
   *   pinned one, one locked by a live lease, or one in use by a live owner);
   * - deletes sessions that were in the trash, and quarantine batches, for longer than the
   *   grace period (`policy.trashGrace`, default 7 days);
   * - compresses (zstd) the saved originals and snapshots of sessions idle for longer than
   *   `policy.compressAfter` (default 7 days; `null`: never), except sessions in use: a new file,
   *   the row switched to it in one transaction, then the old file deleted. Reads decompress
   *   transparently and check the SHA-256 of both forms.
   *
   * Before acting it emits `gc.planned`, whose handlers may take items out or veto the run; after,
   * `gc.completed`. Every item done is in the report with its reason and bytes; nothing else is
   * deleted. Two runs never overlap (`gc.lock`). A run killed at any instant leaves the store
   * consistent, and the next run finishes the job.
   *
   * @param options.dryRun plan only: nothing changes (no lock taken, no file created).
   * @throws {LockError} when another run holds the store past `options.wait` ms (default 0).
   * @throws {VetoError} when a `gc.planned` handler vetoes. @throws {InvalidInputError} for an invalid policy or setting.
   */
  gc(policy?: RetentionPolicy, options: GcOptions = {}): Promise<GcReport> {
    const layout = storeLayout(this.home)
    return runGc(this.#ctx, layout, policy ?? policyFromConfig(readConfig(layout)), options)
  }

  /**
   * Runs {@link pauseIdle}, then {@link gc}, every `options.interval` ms (at least 1 s) until the handle is stopped or the
   * store closes (`close()` waits for a run in progress). Runs never overlap, here or with gc in
   * other processes: a run that finds the store-wide gc lock held is skipped. Failures go to
   * `options.onError` (default: a line on stderr) and the timer goes on; the timer never keeps
   * the process alive.
   *
   * @example
   * ```ts
   * const auto = store.startAutoGc({interval: 3_600_000, policy: {maxAge: 30 * 86_400_000}})
   * // … later, or just store.close()
   * await auto.stop()
   * ```
   * @throws {InvalidInputError} for an interval under 1,000 ms.
   */
  startAutoGc(options: AutoGcOptions): AutoGc {
    this.#ctx.assertOpen()
    const run = async (policy?: RetentionPolicy) => {
      await this.pauseIdle()
      return this.gc(policy)
    }
    return startAutoGc(run, options, (stop) => this.#ctx.beforeClose(stop))
  }

  /**
   * Checks the store for leaks and damage (DESIGN §3 `sess doctor`), without changing anything
   * unless `options.fix`: the database's integrity and schema, stale locks, `active` /
   * `processing` / `waiting_for_input` sessions whose owner is provably dead, temp files, content
   * without rows and rows without content, lengths and SHA-256 of every blob (unless `checksums:
   * false`), index counters, file modes (home and directories 0700, files 0600), symlinks, output
   * buffers over their bound, the trash and the quarantine past their grace period, and
   * descriptors this process left open in the store during the run. Emits `doctor.finding` for
   * each finding.
   *
   * With `fix` it repairs what is safe (releases stale locks, marks dead owners' sessions
   * `terminated`, deletes temp files, fixes modes, evicts output, re-indexes counters) and moves
   * what is not into `$SESS_HOME/quarantine/` (orphans, symlinks, damaged blobs, whose rows are
   * unindexed); the trash and the quarantine are left to `gc`.
   *
   * @returns every finding with whether it was fixed, and `clean` when nothing is left to do.
   * @throws {LockError} with `fix`, when a gc run holds the store.
   */
  doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
    return runDoctor(this.#ctx, storeLayout(this.home), options)
  }

  /**
   * Figures of the whole store (`sess stats`): live sessions by status and kind, pinned ones,
   * records, content and output bytes, the trash, the quarantine, held and stale locks, the blobs
   * with their bytes before and after compression, and the bytes of the database and the blob
   * files on disk. Reads aggregates of the index (no content) and the sizes of the store's files.
   */
  stats(): Promise<StoreStats> {
    return storeStats(this.#ctx, storeLayout(this.home))
  }

  /**
   * The settings of this store (`$SESS_HOME/config.json`, `sess config`), by dotted key, as they
   * are now: the file is parsed again whenever it changed (see {@link CachedConfig}), so this is
   * cheap enough for every write.
   *
   * @returns a frozen object. @throws {StorageError} when the file cannot be read or is not valid.
   */
  config(): Readonly<SessConfig> {
    this.#ctx.assertOpen()
    return this.#config.read()
  }

  /**
   * Sets a setting (`gc.maxAge` to `30d`…), or with `undefined` removes it; the file is written
   * atomically. See `SETTINGS` for the keys.
   *
   * @returns the settings now. @throws {InvalidInputError} for an unknown key or a value that does not fit it.
   */
  async setConfig(key: string, value: string | undefined): Promise<SessConfig> {
    this.#ctx.assertOpen()
    return this.#ctx.content.shared(async () => writeSetting(storeLayout(this.home), key, value))
  }

  /** The `sessions.*` settings, read afresh. */
  #sessionSettings() {
    this.#ctx.assertOpen()
    return sessionSettings(readConfig(storeLayout(this.home)))
  }

  /** Every schema migration and whether it is applied, oldest first (`sess migrate --status`). */
  migrationStatus(): Promise<MigrationState[]> {
    return migrationStatus(this.#ctx.db)
  }

  /**
   * Applies pending schema migrations (`sess migrate`); a store opened normally is already current.
   *
   * @returns the names of the migrations applied now.
   */
  migrate(): Promise<string[]> {
    return migrateToLatest(this.#ctx.db, this.#migrateLock)
  }

  /** Releases the leases this process holds through this store, then closes the database. Idempotent; any later call fails with a {@link StorageError}. */
  close(): Promise<void> {
    return this.#ctx.close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
