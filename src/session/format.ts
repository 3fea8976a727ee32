import type {Damage, EpochMs, OutputEvent, Session, SessionRecord} from './types.ts'

/** What an import adapter makes of an original: records, output events, metadata and damage. */
export interface ParsedSession {
  /** The adapter's name, e.g. `claude-code`. */
  format: string
  /** Kind of the session it holds: `chat`, `agent`, `terminal`… */
  kind: string
  records: SessionRecord[]
  /** Timed terminal events (asciicast), else empty. */
  output: OutputEvent[]
  meta: ParsedMeta
  /** Lines that could not be read; empty when the original was whole. */
  damage: Damage[]
  /** A note for the user, e.g. that the format is unknown and the file was kept as is. */
  notice?: string
}

/** Metadata an adapter found in an original. Every field is optional. */
export interface ParsedMeta {
  /** A name the original carries (sess JSONL does): used when none is given, suffixed if taken. */
  name?: string
  /** Tags the original carries; added to those given. */
  tags?: string[]
  title?: string
  model?: string
  provider?: string
  cwd?: string
  externalId?: string
  createdAt?: EpochMs
  lastActivityAt?: EpochMs
  tokens?: number
}

/** What `detect` sees of a candidate file. */
export interface DetectInput {
  /** The whole original. */
  bytes: Uint8Array
  /** Its path, when it came from a file. */
  path?: string
  /** The first non-empty lines parsed as JSON (`undefined` where a line is not JSON), at most 8. */
  head: unknown[]
  /** The whole file parsed as one JSON value, when it is one (JSON, not JSONL). */
  document?: unknown
}

/** A session as handed to `serialize`: its metadata, transcript and output buffer. */
export interface ExportSession {
  session: Session
  records: SessionRecord[]
  output: OutputEvent[]
}

/**
 * An import/export adapter for one file format (DESIGN §6).
 *
 * @example
 * ```ts
 * const adapter: FormatAdapter = {
 *   name: 'my-agent', description: 'My agent JSONL', extension: '.jsonl',
 *   detect: ({head}) => (head[0] as any)?.myAgent === 1 ? 90 : 0,
 *   parse: (bytes) => ({format: 'my-agent', kind: 'agent', records: [], output: [], meta: {}, damage: []}),
 * }
 * ```
 */
export interface FormatAdapter {
  /** Stable name used by `--format`, e.g. `claude-code`. */
  readonly name: string
  /** One line for `--help` and errors. */
  readonly description: string
  /** File extension of the format, with the dot, e.g. `.jsonl`. */
  readonly extension: string
  /** Confidence from 0 (not this format) to 100 (certain). Must not throw. Absent for export-only formats. */
  detect?(input: DetectInput): number
  /** Reads an original. Tolerant: damage is reported in the result, never thrown. Absent for export-only formats. */
  parse?(bytes: Uint8Array, path?: string): ParsedSession
  /** Writes a session in this format. Absent for import-only formats. */
  serialize?(session: ExportSession): Uint8Array
}
