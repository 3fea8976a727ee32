import type {SessConfig} from '../config/file.ts'
import type {ExportSession, ParsedSession} from '../session/format.ts'
import type {SessionStatus} from '../session/status.ts'
import type {LockHolder, OutputEvent, Session, SessionRecord} from '../session/types.ts'
import type {ReplaySink, StoredOutputEvent} from '../store/output.ts'

/**
 * Payload of `session.saving`, a `before`-style event: handlers run in order and may return a
 * patch (e.g. redacted `bytes`) or veto. The persistence plugin's handler, last in line, detects
 * the format and fills `parsed`; a plugin that understands a format of its own fills `parsed` first.
 */
export interface SavingPayload {
  /** The original, as it will be stored and restored. */
  bytes: Uint8Array
  /** Where it came from, if a file. */
  path?: string
  /** Format forced by the user (`--format`), if any. */
  format?: string
  /** Whether an unknown well-formed JSON/JSONL file may be kept as a `raw` session (true for files named on the command line). */
  allowRaw: boolean
  /** The parse of `bytes`; filled by a format handler. */
  parsed?: ParsedSession
  /** Why no handler parsed it, when one knows (e.g. `not a session file`). */
  rejection?: string
  /**
   * The store's settings (`config.json`) as they are now, read on each call: for a handler that a
   * setting switches on (the redact plugin reads `redact.enabled`).
   *
   * @throws {StorageError} when the settings file cannot be read or is not valid.
   */
  settings(): SessConfig
  /**
   * What handlers masked in `bytes` before it is stored, counted by rule name (never the values),
   * e.g. `{openai: 2, 'private-key': 1}`; a handler that masks adds its counts to these. It ends
   * up in the save's result (`SaveResult.redacted`).
   */
  redacted?: Readonly<Record<string, number>>
}

/**
 * Payload of `records.writing`, a `before`-style event: content about to be written to a session
 * through the library, before its write transaction begins. Exactly one of `records`
 * (`store.append`: one record), `output` (`store.appendOutput`, and so `sess record`: the events of
 * one call) and `snapshot` (`store.snapshot`: the state as it will be stored) is set. A handler
 * may return replacements of the one set (as many records or events as it replaces; the store
 * checks them as it checks what the caller gave) or veto, and then nothing is written. The store
 * emits it only while some handler is registered for it. The redact plugin masks credentials here
 * when `redact.enabled` is set. Saves do not pass through it (`session.saving` sees their bytes).
 */
export interface WritingPayload {
  /** The session written to: its id (resolved from a name before the event). */
  sessionId: string
  /** The transcript records about to be appended. */
  records?: readonly SessionRecord[]
  /** The output events about to be appended, in order. */
  output?: readonly OutputEvent[]
  /** A snapshot's state as it will be stored: a string's UTF-8, a value's JSON, or the bytes given. */
  snapshot?: Uint8Array
  /**
   * The store's settings (`config.json`) as they are now: checked on each call, parsed again
   * only when the file changed (`Store.config`), so cheap enough for every write.
   *
   * @throws {StorageError} when the settings file cannot be read or is not valid.
   */
  settings(): SessConfig
  /**
   * What handlers masked in the content, counted by rule name (never the values); a handler that
   * masks adds its counts to these. Once the write commits, non-empty counts are reported by
   * `records.redacted`.
   */
  redacted?: Readonly<Record<string, number>>
}

/**
 * Payload of `records.redacted`: a write whose `records.writing` handlers masked something has
 * committed. Not emitted for writes where nothing was masked.
 */
export interface RedactedPayload {
  sessionId: string
  /** What was written: `records` (`store.append`), `output` (`store.appendOutput`) or `snapshot` (`store.snapshot`). */
  kind: 'records' | 'output' | 'snapshot'
  /** What the call returned: the record's seq, the seq of the last output event, or the snapshot's seq. */
  seq: number
  /** What was masked, counted by rule name (never the values), e.g. `{openai: 2}`. */
  redacted: Readonly<Record<string, number>>
}

/**
 * Payload of `session.restoring`, a `before`-style event: the persistence plugin's handler, last
 * in line, serializes the session in `format` and fills `bytes`.
 */
export interface RestoringPayload {
  session: Session
  /** The format asked for. */
  format: string
  /** asciicast version to write: 2 (default) or 3. */
  asciicastVersion?: 2 | 3
  /** Loads the transcript and output buffer, for a handler that converts. */
  load(): Promise<ExportSession>
  /** The output bytes: preset to the saved original when that is what is restored; else filled by a format handler. */
  bytes?: Uint8Array
}

/**
 * Payload of `lock.checking`, a `before`-style event: a lock that someone wants is held by a lease
 * that has not expired. A handler that can prove the holder dead sets `dead` to the reason; the
 * lock is then taken over at once (race-free: only one of several contenders wins). The locking
 * plugin proves death on the same host by pid, process start time and boot id. Without any proof
 * the holder counts as alive, and the lock waits for its lease to expire.
 */
export interface LockCheckingPayload {
  sessionId: string
  /** Fencing token of the lease in question. */
  token: number
  holder: LockHolder
  /** When that lease expires unless renewed, ms since the epoch. */
  expiresAt: number
  /** Why the holder is provably dead; unset while nobody has shown it. */
  dead?: string
}

/**
 * What `sess gc` does to one thing (see {@link GcItem}): `trash` a session (the retention policy),
 * `purge` a session from the trash (its grace period is over), `delete` a file (a temp file left by
 * a crash, a quarantine batch past its grace period), `quarantine` content no row names, `release`
 * a stale lock, `unindex` a row whose content is missing or damaged, `compress` the blob of a
 * session idle for longer than `compressAfter`.
 */
export type GcAction = 'trash' | 'purge' | 'delete' | 'quarantine' | 'release' | 'unindex' | 'compress'

/** What a {@link GcItem} is about. */
export type GcItemType = 'session' | 'trashed-session' | 'temp-file' | 'orphan' | 'stale-lock' | 'missing-content' | 'quarantine' | 'blob'

/** One thing `sess gc` plans to do (`gc.planned`) or did (`gc.completed`). */
export interface GcItem {
  action: GcAction
  type: GcItemType
  sessionId: string | null
  /** The session's name, when the item is about a session. */
  name: string | null
  /** The file or directory concerned, when there is one. */
  path: string | null
  /** Why, e.g. `last activity 40d ago, older than 30d (maxAge)`. */
  reason: string
  /** Bytes concerned: freed (`delete`, `purge`), moved (`trash`, `quarantine`), before compression (`compress`) or 0. */
  bytes: number
  /** `compress` only: the bytes stored after compression; `null` in a plan (not known until done). */
  bytesAfter?: number | null
}

/** A finding of `sess doctor`. */
export interface DoctorFinding {
  kind: string
  severity: 'error' | 'warning'
  sessionId: string | null
  path: string | null
  message: string
  fix: string | null
}

/**
 * Payload of `session.foregrounded`: a session came back to the foreground (`store.switchTo`).
 * The replay plugin replays what it missed into `sink`; without it, nothing is replayed.
 */
export interface ForegroundedPayload {
  session: Session
  /** The session current there before, now in the background (if any). */
  previous: Session | null
  /** The output buffer's last sequence number when the session went to the background: it missed what came after. */
  after: number
  /** The output events it missed, in order (those still in the buffer), streamed from the store. */
  missed(): AsyncGenerator<StoredOutputEvent>
  /** Where the caller wants the missed output; `null`: nowhere. */
  sink: ReplaySink | null
}

/** Events whose handlers may transform the payload or veto (run in order, awaited). */
export interface BeforeEvents {
  'session.saving': SavingPayload
  'session.restoring': RestoringPayload
  'lock.checking': LockCheckingPayload
  'records.writing': WritingPayload
  /**
   * Before gc acts: a handler may return `{items}` without some of them (they are then kept, and
   * reported as skipped), or veto the whole run. Items a handler adds or changes are ignored: gc
   * only ever does what it planned.
   */
  'gc.planned': {items: GcItem[]}
}

/** Events that report what happened (run in order after the fact; cannot change it). */
export interface AfterEvents {
  'session.created': {session: Session}
  'session.saved': {session: Session; version: number; created: boolean}
  'session.restored': {session: Session; format: string; bytes: number}
  'session.status_changed': {session: Session; from: SessionStatus; to: SessionStatus}
  'session.removed': {session: Session; purged: boolean}
  /** A session left the foreground (another was switched to, or started, in its terminal); `seq`: its output buffer's last sequence number then. */
  'session.backgrounded': {session: Session; seq: number}
  'session.foregrounded': ForegroundedPayload
  'record.appended': {sessionId: string; seq: number; record: SessionRecord}
  'output.appended': {sessionId: string; seq: number; event: OutputEvent}
  'records.redacted': RedactedPayload
  'lock.acquired': {sessionId: string; token: number; holder: LockHolder}
  'lock.released': {sessionId: string; token: number}
  /** A stale lock was taken over (or cleared for a writer): `token` is the broken lease's. */
  'lock.broken': {sessionId: string; token: number; holder: LockHolder; reason: string}
  'gc.completed': {items: GcItem[]; bytesFreed: number}
  'doctor.finding': DoctorFinding
}

/** Every event of the lifecycle bus and its payload type. */
export type BusEvents = BeforeEvents & AfterEvents

/** Name of any bus event. */
export type BusEventName = keyof BusEvents

/** Names of every bus event, for validation and docs. */
export const BUS_EVENT_NAMES: readonly BusEventName[] = [
  'session.created',
  'session.saving',
  'session.saved',
  'session.restoring',
  'session.restored',
  'session.status_changed',
  'session.removed',
  'session.backgrounded',
  'session.foregrounded',
  'record.appended',
  'output.appended',
  'records.writing',
  'records.redacted',
  'lock.checking',
  'lock.acquired',
  'lock.released',
  'lock.broken',
  'gc.planned',
  'gc.completed',
  'doctor.finding',
]
