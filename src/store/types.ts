import type {SessionStatus} from '../session/status.ts'
import type {Damage} from '../session/types.ts'

/** Input of `store.create()`. */
export interface CreateSessionInput {
  /** Unique name; generated from kind and time when absent. */
  name?: string
  /** Default `chat`. */
  kind?: string
  /** Default `active`. */
  status?: SessionStatus
  tags?: string[]
  title?: string
  model?: string
  provider?: string
  cwd?: string
  parentId?: string
}

/** Input of `store.save()`: an original to import. */
export interface SaveInput {
  /** The original's bytes, stored and restored exactly. */
  bytes: Uint8Array
  /** Where it came from (for detection, naming and messages). */
  path?: string
  /** Force a format instead of detecting it. */
  format?: string
  /** Name of a new session; derived from the file or title when absent. */
  name?: string
  tags?: string[]
  /** Save as a new version of this session (id or name) instead of a new session. */
  into?: string
  /** Keep an unrecognised but well-formed JSON/JSONL file as a `raw` session (default true). */
  allowRaw?: boolean
}

/** Outcome of `store.save()`. */
export interface SaveResult {
  sessionId: string
  name: string
  format: string
  /** The version number now current. */
  version: number
  /** `true` for a new session, `false` for a new version of an existing one. */
  created: boolean
  /** `true` when these exact bytes were already saved: nothing was written. */
  unchanged: boolean
  records: number
  damage: Damage[]
  notice?: string
  /**
   * What plugins masked in the given bytes before saving them, counted by rule name (never the
   * values; see `SavingPayload.redacted`); `{}` when nothing was. Reported for an `unchanged`
   * save too: the masked bytes are what was found already saved.
   */
  redacted: Record<string, number>
}

/** A saved version of an imported original. */
export interface VersionInfo {
  version: number
  format: string
  /** Bytes and SHA-256 of the original. */
  bytes: number
  sha256: string
  createdAt: number
  damage: Damage[]
  /** How its file is stored: `null` as is, else the codec `sess gc` compressed it with. */
  codec: 'zstd' | 'gzip' | null
  /** Bytes of its file as stored. */
  storedBytes: number
}

/** Options of `store.restore()`. */
export interface RestoreOptions {
  /** Output format; default: the session's original format, else `sess`. */
  format?: string
  /** Version of the original (default latest). */
  version?: number
  /** asciicast version to write: 2 or 3. Given, a saved cast is converted rather than returned as saved. */
  asciicastVersion?: 2 | 3
  /** Look the session up in the trash too. */
  fromTrash?: boolean
}

/** Outcome of `store.restore()`. */
export interface RestoreResult {
  bytes: Uint8Array
  format: string
  /** `true` when `bytes` are the saved original, byte for byte. */
  original: boolean
}
