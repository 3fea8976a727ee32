import {ExitCode} from './exit-codes.ts'

/** Options common to every {@link SessError}. */
export interface SessErrorOptions {
  /** What the user can do about it, one sentence. Shown after the message. */
  hint?: string
  /** The underlying error, if any. */
  cause?: unknown
}

/**
 * Base of every error sess throws on purpose. Carries a stable `code` for programs, the process
 * `exitCode` the CLI exits with, and a `hint` naming the fix (the pattern of oclif's `CLIError`).
 *
 * Anything thrown that is not a `SessError` is a bug in sess or in a plugin; the CLI still prints
 * it without a stack trace (unless `DEBUG=sess*`) and exits 1.
 *
 * @example
 * ```ts
 * try { await store.get('nope') } catch (error) {
 *   if (error instanceof NotFoundError) console.error(error.message, error.hint)
 * }
 * ```
 */
export class SessError extends Error {
  /** Stable machine-readable code, e.g. `E_NOT_FOUND`. */
  readonly code: string
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: ExitCode
  /** How to fix it, if sess knows. */
  readonly hint: string | undefined

  constructor(message: string, code = 'E_FAILURE', exitCode: ExitCode = ExitCode.failure, options: SessErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.code = code
    this.exitCode = exitCode
    this.hint = options.hint
  }

  /** A plain object for `--json` output. */
  toJSON(): {code: string; exitCode: number; hint?: string; message: string} {
    return {code: this.code, exitCode: this.exitCode, message: this.message, ...(this.hint ? {hint: this.hint} : {})}
  }
}

/** Bad usage or bad input: an invalid name, path, flag or file. Exit 2; nothing was written. */
export class InvalidInputError extends SessError {
  constructor(message: string, options: SessErrorOptions = {}) {
    super(message, 'E_INVALID_INPUT', ExitCode.usage, options)
  }
}

/** Bytes that no format handler could read as a session (empty, not JSON, unknown format). Exit 2. */
export class NotASessionError extends InvalidInputError {
  /** Why, in a few words (e.g. `the file is empty`). */
  readonly reason: string
  constructor(source: string, reason: string) {
    super(`${source} is not a session file sess can read: ${reason}.`, {
      hint: 'Supported: Claude Code, Codex, Gemini CLI, asciicast, sess JSONL, and (named directly) any JSON/JSONL file. Use --format to force one.',
    })
    this.reason = reason
  }
}

/** A name or target already exists and sess will not overwrite it. Exit 2. */
export class ConflictError extends SessError {
  constructor(message: string, options: SessErrorOptions = {}) {
    super(message, 'E_CONFLICT', ExitCode.usage, options)
  }
}

/** A session, version or file does not exist. Exit 4. */
export class NotFoundError extends SessError {
  constructor(message: string, options: SessErrorOptions = {}) {
    super(message, 'E_NOT_FOUND', ExitCode.notFound, options)
  }
}

/** A lock was not acquired in time, or a write carried a stale fencing token. Exit 3. */
export class LockError extends SessError {
  constructor(message: string, options: SessErrorOptions = {}) {
    super(message, 'E_LOCK', ExitCode.lock, options)
  }
}

/** A configured limit would be exceeded (e.g. `sessions.maxActive`); nothing was changed. Exit 1. */
export class LimitError extends SessError {
  constructor(message: string, options: SessErrorOptions = {}) {
    super(message, 'E_LIMIT', ExitCode.failure, options)
  }
}

/**
 * The command sess was asked to run (`sess lock run`, `sess record`) could not be started: not
 * found on the PATH (exit 127) or not executable (exit 126), the codes shells and flock(1) use.
 */
export class CommandError extends SessError {
  constructor(command: string, notFound: boolean, options: SessErrorOptions = {}) {
    super(
      notFound ? `Command not found: ${command}.` : `Cannot run ${command}: ${options.cause instanceof Error ? options.cause.message : 'not executable'}.`,
      notFound ? 'E_COMMAND_NOT_FOUND' : 'E_CANNOT_EXECUTE',
      notFound ? ExitCode.commandNotFound : ExitCode.cannotExecute,
      {hint: notFound ? 'Check the spelling and your PATH.' : 'Check that it is an executable file you may run.', ...options},
    )
  }
}

/** A status change the session state machine does not allow. Exit 2. */
export class InvalidTransitionError extends SessError {
  constructor(message: string, options: SessErrorOptions = {}) {
    super(message, 'E_INVALID_TRANSITION', ExitCode.usage, options)
  }
}

/** A plugin handler vetoed a `before`-style event (e.g. `session.saving`). Exit 1. */
export class VetoError extends SessError {
  /** The plugin that vetoed. */
  readonly plugin: string
  constructor(plugin: string, reason: string) {
    super(`${plugin} refused: ${reason}`, 'E_VETOED', ExitCode.failure, {
      hint: `The ${plugin} plugin vetoed this; change the input or uninstall the plugin (sess plugins uninstall).`,
    })
    this.plugin = plugin
  }
}

/** The store's disk, database or content failed (I/O error, disk full, corruption). Exit 1. */
export class StorageError extends SessError {
  /** @param code for a subclass: its own stable code. */
  constructor(message: string, options: SessErrorOptions = {}, code = 'E_STORAGE') {
    super(message, code, ExitCode.failure, options)
  }
}

/**
 * A write found its disk full: `ENOSPC` from the file system, `EDQUOT` (the user's quota spent),
 * or `SQLITE_FULL` from the database. Exit 1. The write that failed was not committed: a blob's
 * temp file is removed, a transaction rolled back. Made by `diskFullError()` (`src/os/disk-space.ts`),
 * which finds the mount point and the space left.
 */
export class DiskFullError extends StorageError {
  /** The mount point of the file system that is full. */
  readonly mountPoint: string
  /** Bytes free there when the error was made (for an unprivileged user), or `null` if unknown. */
  readonly freeBytes: number | null

  /**
   * @param where.path what was being written (a file, or the store's home for its database).
   * @param where.free {@link freeBytes} as text (`0 B`, `12 KiB`), or `null` if unknown.
   * @param where.quota whether the user's quota, not the disk, ran out.
   */
  constructor(where: {path: string; mountPoint: string; freeBytes: number | null; free: string | null; quota: boolean}, options: SessErrorOptions = {}) {
    const left = where.free === null ? '' : `: ${where.free} free on ${where.mountPoint}`
    super(
      where.quota ? `Your disk quota is used up on ${where.mountPoint}, which holds ${where.path}.` : `The disk holding ${where.path} is full${left}.`,
      {
        hint: `Free space on ${where.mountPoint} (delete files you no longer need there, or old sessions with \`sess rm --purge\` or \`sess gc\`), then retry; the write that failed was not kept.`,
        ...options,
      },
      'E_DISK_FULL',
    )
    this.mountPoint = where.mountPoint
    this.freeBytes = where.freeBytes
  }
}
