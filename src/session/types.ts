import type {SessionStatus} from './status.ts'

/** Milliseconds since the Unix epoch. */
export type EpochMs = number

/** The process that owns a live session: enough to tell whether it is still alive. */
export interface SessionOwner {
  /** The identity of its host (`hostId` in src/os/host.ts): only that host can prove it dead. */
  host: string
  pid: number
  /** Process start time as the kernel reports it (`/proc/<pid>/stat` field 22, clock ticks), if known. */
  startTime: string | null
}

/** The process holding a session's lock: an owner plus the boot it runs in. */
export interface LockHolder extends SessionOwner {
  /** `/proc/sys/kernel/random/boot_id` of the holder's host, if known: a different one means a reboot since. */
  bootId: string | null
}

/**
 * A session's lock as `sess lock status` shows it: free, or held by a lease. A lock row exists
 * once a session was first locked; its fencing token keeps rising across grants.
 */
export interface LockState {
  sessionId: string
  /** The session's name. */
  name: string
  /** Fencing token of the latest grant (the current one while held). */
  token: number
  /** Whether a lease holds it now (an expired lease still counts until taken over, but is stale). */
  held: boolean
  /** The holder, or the last holder when free. */
  holder: LockHolder
  acquiredAt: EpochMs
  renewedAt: EpochMs
  /** When the lease ends unless renewed. */
  expiresAt: EpochMs
  /** Lease length, ms. */
  ttl: number
  releasedAt: EpochMs | null
  /** Why a held lock may be taken over at once (its holder is provably dead, or its lease expired); `null` if not. */
  stale: string | null
}

/** A session's metadata, as kept in the index. Reading it never touches content. */
export interface Session {
  /** ULID: unique, sortable by creation time. */
  id: string
  /** Unique human name, 1–64 of `[A-Za-z0-9._-]`. */
  name: string
  /** `chat`, `agent`, `terminal` or any plugin-defined string. */
  kind: string
  status: SessionStatus
  tags: string[]
  title: string | null
  model: string | null
  provider: string | null
  cwd: string | null
  owner: SessionOwner | null
  /** The session this one was forked or restored from. */
  parentId: string | null
  /** Format of the saved original (`claude-code`, `codex`, …), or `null` for a session recorded natively. */
  format: string | null
  /** The id the originating tool gave the session (e.g. Claude Code's session UUID), if any. */
  externalId: string | null
  createdAt: EpochMs
  lastActivityAt: EpochMs
  closedAt: EpochMs | null
  /** When it was moved to the trash; `null` if it is not in the trash. */
  trashedAt: EpochMs | null
  /** Number of transcript records. */
  recordCount: number
  /** Bytes of content: the saved original (latest version), else the transcript's records. */
  bytes: number
  /** Tokens used, where the source says. */
  tokens: number | null
  /** Bytes currently held in the output buffer. */
  outputBytes: number
  /** Number of saved versions of the original (0 for a natively recorded session). */
  versionCount: number
  /** Whether the session is pinned: `sess gc` never collects it, whatever the retention policy. */
  pinned: boolean
  /** Whether it is in the foreground (current in a terminal or directory) or in the background (its output kept for when it comes back); see `store.switchTo`. */
  mode: SessionMode
}

/** A session's mode: in the `foreground`, or in the `background` with its output kept for replay when it comes back. */
export type SessionMode = 'foreground' | 'background'

/** A part of a message. */
export type MessagePart =
  | {type: 'text'; text: string}
  | {type: 'thinking'; text: string}
  | {type: 'data'; mime?: string; data: unknown}

/** Fields every record may carry. */
export interface RecordBase {
  /** When it happened, ms since the epoch, if known. */
  ts?: EpochMs
  /** The source's id of this record (e.g. Claude Code's `uuid`). */
  id?: string
  /** The id of the record it follows in a conversation tree (e.g. `parentUuid`). */
  parentId?: string
  /** 1-based line (JSONL) or item (JSON array) of the original it came from. */
  line?: number
  /** Source-specific fields kept for fidelity. */
  meta?: Record<string, unknown>
}

/** A message: a role and its parts. */
export interface MessageRecord extends RecordBase {
  type: 'message'
  role: string
  parts: MessagePart[]
  model?: string
}

/** A tool call; `result` is present when the source has it in the same place. */
export interface ToolCallRecord extends RecordBase {
  type: 'tool_call'
  name: string
  args: unknown
  callId?: string
  result?: unknown
  isError?: boolean
}

/** The result of an earlier tool call, where the source keeps it apart. */
export interface ToolResultRecord extends RecordBase {
  type: 'tool_result'
  callId?: string
  result: unknown
  isError?: boolean
}

/** A change of application state (model, settings, working directory…). */
export interface StateRecord extends RecordBase {
  type: 'state'
  state: Record<string, unknown>
}

/** A named point in the transcript (compaction boundary, checkpoint…). */
export interface MarkerRecord extends RecordBase {
  type: 'marker'
  label: string
}

/** Anything else the source records (token counts, queue operations, lines of an unknown format). */
export interface EventRecord extends RecordBase {
  type: 'event'
  name: string
  data: unknown
}

/** One entry of a transcript. */
export type SessionRecord = MessageRecord | ToolCallRecord | ToolResultRecord | StateRecord | MarkerRecord | EventRecord

/** A record as stored: its 1-based sequence number in the transcript and the record. */
export interface StoredRecord {
  seq: number
  record: SessionRecord
}

/** Codes of output-buffer events: stdout, stderr, input, resize (`COLSxROWS`), marker, exit (status). */
export type OutputCode = 'o' | 'e' | 'i' | 'r' | 'm' | 'x'

/** A timed terminal event of the output buffer (after asciicast's `[time, code, data]`). */
export interface OutputEvent {
  /** Seconds since the start of the recording. */
  time: number
  code: OutputCode
  data: string
}

/** A problem found while reading an original: where and why. The rest of the session survives. */
export interface Damage {
  /** 1-based line of the original, or `null` when it concerns the whole file. */
  line: number | null
  reason: string
}
