import type {Generated} from 'kysely'

/**
 * Tables of the metadata database, as Kysely sees them. Times are ms since the epoch; sizes are
 * bytes. The schema itself is made only by the migrations in `./migrations/`.
 */
export interface Database {
  sessions: SessionsTable
  session_tags: SessionTagsTable
  versions: VersionsTable
  records: RecordsTable
  output_events: OutputEventsTable
  output_buffers: OutputBuffersTable
  snapshots: SnapshotsTable
  locks: LocksTable
  current_sessions: CurrentSessionsTable
  search_docs: SearchDocsTable
  search_fts: SearchFtsTable
  blob_chunks: BlobChunksTable
}

/** One row per session: the index `sess list` reads. */
export interface SessionsTable {
  id: string
  name: string
  kind: string
  status: string
  title: string | null
  model: string | null
  provider: string | null
  cwd: string | null
  owner_host: string | null
  owner_pid: number | null
  owner_start_time: string | null
  parent_id: string | null
  format: string | null
  external_id: string | null
  created_at: number
  last_activity_at: number
  closed_at: number | null
  trashed_at: number | null
  record_count: number
  bytes: number
  tokens: number | null
  output_bytes: number
  version_count: number
  /** 1: pinned, never collected by `sess gc`; 0 otherwise. */
  pinned: Generated<number>
  /** `foreground` (current in a terminal or directory, or just switched to) or `background`. */
  mode: Generated<string>
  /** The output buffer's last `seq` when the session went to the background; `null` while in the foreground. */
  background_seq: number | null
}

/** Tags of a session, one row each (portable filtering). */
export interface SessionTagsTable {
  session_id: string
  tag: string
}

/** Saved originals of an imported session: one row per version, the bytes in a blob file. */
export interface VersionsTable {
  session_id: string
  version: number
  /** File name of the blob, under the session's blob directory. */
  blob: string
  /** SHA-256 of the original, hex: identity for idempotent saves and integrity checks. */
  sha256: string
  bytes: number
  format: string
  created_at: number
  /** JSON array of {@link Damage} found when it was parsed. */
  damage: string
  /** How the blob file is stored (see {@link BlobColumns}). */
  codec: BlobColumns['codec']
  stored_bytes: BlobColumns['stored_bytes']
  stored_sha256: BlobColumns['stored_sha256']
}

/** The transcript: one row per record, in order. */
export interface RecordsTable {
  session_id: string
  seq: number
  ts: number | null
  type: string
  /** The record as JSON. */
  body: string
}

/** The output buffer: timed terminal events. */
export interface OutputEventsTable {
  session_id: string
  seq: number
  /** Seconds since the start of the recording. */
  time: number
  code: string
  data: string
  /** UTF-8 bytes of `data`, for the buffer bound. */
  bytes: number
}

/** Per-session state of the output buffer (one row once a session has had output). */
export interface OutputBuffersTable {
  session_id: string
  /** The session's own bound in bytes; `null`: the store's default. */
  limit_bytes: number | null
  /** The highest `seq` handed out, evicted or not. */
  last_seq: Generated<number>
  /** Events and UTF-8 bytes of `data` evicted so far. */
  evicted_events: Generated<number>
  evicted_bytes: Generated<number>
}

/** Versioned application-state snapshots; the bytes in a blob file. */
export interface SnapshotsTable {
  session_id: string
  seq: number
  blob: string
  sha256: string
  bytes: number
  created_at: number
  /** How the blob file is stored (see {@link BlobColumns}). */
  codec: BlobColumns['codec']
  stored_bytes: BlobColumns['stored_bytes']
  stored_sha256: BlobColumns['stored_sha256']
}

/**
 * How a blob file of `versions` and `snapshots` is stored (`sess gc` compresses cold ones);
 * `sha256` and `bytes` of those tables are always the original's.
 */
export interface BlobColumns {
  /** `null`: as written, not yet considered; `identity`: as is, on purpose (compression would not shrink it); `zstd` or `gzip`: compressed. */
  codec: 'identity' | 'zstd' | 'gzip' | null
  /** Length of the file as stored, bytes; `null`: the file holds the original (`bytes`). */
  stored_bytes: number | null
  /** SHA-256 of the file as stored, hex; `null`: the file holds the original (`sha256`). */
  stored_sha256: string | null
}

/**
 * Session locks (see `src/lock/`): one row per session ever locked, kept after release so that its
 * fencing token keeps rising.
 */
export interface LocksTable {
  session_id: string
  /** Fencing token of the latest grant: rises by one on every grant and every takeover. */
  token: number
  /** Secret of the current lease (32 hex digits); `null` while the lock is free. */
  lease_id: string | null
  holder_host: string
  holder_pid: number
  /** `/proc/<pid>/stat` field 22 of the holder, if known. */
  holder_start_time: string | null
  /** `/proc/sys/kernel/random/boot_id` of the holder's host when it took the lock, if known. */
  holder_boot_id: string | null
  acquired_at: number
  renewed_at: number
  /** When the lease ends unless renewed. */
  expires_at: number
  /** Lease length, ms. */
  ttl_ms: number
  released_at: number | null
}

/**
 * The current session of each terminal and directory that has one (`sess switch`, `sess current`).
 * No foreign key: a pointer to a session since purged stays, to say so, until gc or doctor
 * removes it.
 */
export interface CurrentSessionsTable {
  /** `terminal` or `directory`. */
  scope: string
  /** The terminal's identity, or the directory's real path. */
  key: string
  session_id: string
  /** The session's name (for messages once it is gone). */
  session_name: string
  set_at: number
}

/**
 * The full-text index's entries (SQLite; see `src/search/sqlite-fts5.ts`): one row per record, its
 * `id` the rowid of the record's text in {@link SearchFtsTable}. Deleted with its session.
 */
export interface SearchDocsTable {
  id: Generated<number>
  session_id: string
  seq: number
}

/** The FTS5 table (contentless: it keeps the index of `text`, not the text). */
export interface SearchFtsTable {
  rowid: number
  text: string
}

/**
 * The content of blobs in the database, for a store shared on PostgreSQL: chunk `seq` (0, 1, …)
 * of blob `blob` of a session. Empty on SQLite, where blobs are files.
 */
export interface BlobChunksTable {
  session_id: string
  blob: string
  seq: number
  data: Uint8Array
  /** When gc or doctor set the blob aside as an orphan (ms); `null`: not quarantined. */
  quarantined_at: number | null
}
