import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../../../../src/cli/base-command.ts'
import {Interrupt} from '../../../../src/cli/interrupt.ts'
import {startProgress} from '../../../../src/cli/progress.ts'
import {chalk} from '../../../../src/cli/style.ts'
import {InvalidInputError, NotASessionError, VetoError} from '../../../../src/errors/index.ts'
import type {Store} from '../../../../src/store/store.ts'
import type {SaveResult} from '../../../../src/store/types.ts'
import {maxInputBytes} from '../input/limits.ts'
import {classifyInput, readSource, readStream, walkDirectory} from '../input/sources.ts'

/** `sess save --json` output: every file saved (or found unchanged, each with what was `redacted`) and every file skipped, with why. */
export interface SaveReport {
  saved: (SaveResult & {path: string})[]
  skipped: {path: string; reason: string}[]
}

export default class Save extends SessCommand<typeof Save> {
  static override summary = 'Save session files into the store: a file, a whole directory tree, or stdin.'
  static override description = `Detects the format (Claude Code, Codex, Gemini CLI, asciicast, sess JSONL; any other JSON/JSONL file named directly is kept as a raw session) and keeps the original bytes, so that \`sess restore\` gives them back byte for byte. Idempotent: saving the same bytes again adds nothing. In a directory, files that are not sessions are skipped and listed with the reason.

With redaction on (sess config set redact.enabled true), credentials (API keys, tokens, private keys, secret assignments) are masked as [REDACTED:<rule>] before anything is stored; each saved session lists how many per rule (--json: redacted: {rule: count}). The original is then not kept: restore gives back the masked bytes.

A file (or stdin) larger than the setting save.maxBytes (default 64 MiB) is refused; in a directory it is skipped with the reason. ^C (or SIGTERM) stops between two files: what was saved stays saved.

Exit status: 0 when everything given was saved or skipped with a reason (damaged lines are reported, the rest of the session is kept), 1 for input over save.maxBytes, 2 for a file that is not a session or bad flags, 4 when the path does not exist, 130/143 when interrupted by SIGINT/SIGTERM.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> ~/.claude/projects',
    '<%= config.bin %> <%= command.id %> ~/.codex/sessions --tag codex',
    '<%= config.bin %> <%= command.id %> demo.cast --name demo',
    'cat transcript.jsonl | <%= config.bin %> <%= command.id %> - --format claude-code',
    '<%= config.bin %> <%= command.id %> transcript.jsonl --session my-chat   # a new version of my-chat',
    '<%= config.bin %> config set redact.enabled true && <%= config.bin %> <%= command.id %> transcript.jsonl   # credentials masked',
  ]

  static override args = {
    source: Args.string({description: 'A session file, a directory to import recursively, or - for stdin.', required: true}),
  }

  static override flags = {
    format: Flags.string({description: 'Read as this format instead of detecting it (claude-code, codex, gemini-cli, asciicast, sess, raw).'}),
    name: Flags.string({description: 'Name of the new session (default: from the file name).'}),
    session: Flags.string({description: 'Save as a new version of this existing session (id or name).'}),
    tag: Flags.string({description: 'Tag the saved sessions (repeatable).', multiple: true}),
  }

  async run(): Promise<SaveReport> {
    const {args, flags} = this
    const report: SaveReport = {saved: [], skipped: []}
    const store = await this.store()
    const limit = maxInputBytes(store.config())
    // ^C or a kill stops the save between two files (or sessions), never within one: what was saved stays saved, nothing is left half written.
    using interrupt = new Interrupt()
    if (args.source === '-') {
      if (process.stdin.isTTY) throw new InvalidInputError('`sess save -` reads a session from stdin, but stdin is a terminal.', {hint: 'Pipe a file in, or name it.'})
      const bytes = await readStream(Bun.stdin.stream(), limit, interrupt.signal)
      if (!interrupt.signal.aborted) this.#report(report, await this.#saveOne(store, bytes, undefined, true))
    } else if (classifyInput(args.source) === 'file') {
      this.#report(report, await this.#saveOne(store, readSource(args.source, {followSymlink: true, limit}), args.source, true))
    } else {
      if (flags.name !== undefined || flags.session !== undefined) {
        throw new InvalidInputError('--name and --session apply to one file, not a directory.', {hint: 'Save the files one by one to name them.'})
      }
      await this.#saveDirectory(store, args.source, report, limit, interrupt)
    }
    if (interrupt.exitCode !== undefined) {
      this.logToStderr(`Interrupted (${interrupt.by}): ${report.saved.length} saved or unchanged and ${report.skipped.length} skipped before it; nothing else was read. Saving is idempotent: run the same command again to save the rest.`)
      return this.exit(interrupt.exitCode)
    }
    if (!this.jsonEnabled() && report.saved.length + report.skipped.length > 1) {
      const created = report.saved.filter((s) => !s.unchanged).length
      this.log(chalk.dim(`${created} saved, ${report.saved.length - created} unchanged, ${report.skipped.length} skipped`))
    }
    return report
  }

  /** Saves every session file under `root`, one at a time, until done or interrupted (then it stops before the next file). */
  async #saveDirectory(store: Store, root: string, report: SaveReport, limit: number, interrupt: Interrupt): Promise<void> {
    const candidates = [...walkDirectory(root)]
    const progress = startProgress('Saving', {enabled: !this.jsonEnabled(), total: candidates.length})
    try {
      for (const [index, candidate] of candidates.entries()) {
        if (await interrupt.requested()) return
        progress.update(index, candidate.path)
        if (candidate.skip !== undefined) {
          this.#report(report, {path: candidate.path, reason: candidate.skip})
          continue
        }
        let bytes: Uint8Array
        try {
          bytes = readSource(candidate.path, {followSymlink: false, limit})
        } catch (error) {
          this.#report(report, {path: candidate.path, reason: `cannot read it: ${(error as Error).message}`})
          continue
        }
        try {
          this.#report(report, await this.#saveOne(store, bytes, candidate.path, false))
        } catch (error) {
          // A file that is not a session, or that a plugin refuses, is skipped; a failing store stops the run.
          if (!(error instanceof InvalidInputError || error instanceof VetoError)) throw error
          this.#report(report, {path: candidate.path, reason: error instanceof NotASessionError ? error.reason : error.message})
        }
      }
    } finally {
      progress.stop()
    }
  }

  async #saveOne(store: Store, bytes: Uint8Array, path: string | undefined, allowRaw: boolean): Promise<SaveResult & {path: string}> {
    const result = await store.save({
      allowRaw,
      bytes,
      format: this.flags.format,
      into: this.flags.session,
      name: this.flags.name,
      path,
      tags: this.flags.tag,
    })
    return {...result, path: path ?? '-'}
  }

  #report(report: SaveReport, entry: (SaveResult & {path: string}) | {path: string; reason: string}): void {
    if ('reason' in entry) {
      report.skipped.push(entry)
      if (!this.jsonEnabled()) this.log(`${chalk.yellow('skipped  ')} ${entry.path}: ${entry.reason}`)
      return
    }
    report.saved.push(entry)
    if (this.jsonEnabled()) return
    const verb = entry.unchanged ? chalk.dim('unchanged') : entry.created ? chalk.green('saved    ') : chalk.green(`version ${entry.version}`.padEnd(9))
    this.log(`${verb} ${chalk.bold(entry.name)}  ${entry.format}  ${entry.records} records  ${chalk.dim(entry.sessionId)}  ${chalk.dim(entry.path)}`)
    if (entry.notice) this.log(chalk.dim(`          note: ${entry.notice}`))
    const redacted = Object.entries(entry.redacted)
    if (redacted.length > 0) this.log(chalk.yellow(`          redacted: ${redacted.map(([rule, count]) => `${count} ${rule}`).join(', ')}`))
    for (const d of entry.damage) this.log(chalk.yellow(`          damaged: ${d.line === null ? 'whole file' : `line ${d.line}`}: ${d.reason}`))
  }
}
