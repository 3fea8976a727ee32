import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../../../../src/cli/base-command.ts'
import {InvalidInputError} from '../../../../src/errors/index.ts'
import {writeAll} from '../../../../src/os/write-all.ts'
import {writeFileAtomic} from '../blobs/atomic-write.ts'
import {restoreTarget} from '../output/target.ts'

/** `sess restore --json` output. */
export interface RestoreReport {
  id: string
  name: string
  /** What was done: written to a file, brought back from the trash, or forked into a new session. */
  action: 'written' | 'untrashed' | 'forked'
  format?: string
  to?: string
  bytes?: number
  /** Whether the bytes written are the saved original, byte for byte. */
  original?: boolean
  /** The new session, for --fork. */
  fork?: {id: string; name: string}
}

export default class Restore extends SessCommand<typeof Restore> {
  static override summary = 'Write a session back out (its original bytes by default), fork it, or bring it back from the trash.'
  static override description = `By default the saved original is written byte for byte in its own format; --format converts (sess, markdown, asciicast for terminal sessions). Writing a file is atomic and never replaces an existing one without --force. Without --to the bytes go to stdout. --to never writes into the store itself, nor over anything but a regular file (a FIFO, a device, a directory).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> my-chat --to chat.jsonl',
    '<%= config.bin %> <%= command.id %> my-chat --format markdown --to chat.md',
    '<%= config.bin %> <%= command.id %> demo --format asciicast --to demo.cast && asciinema play demo.cast',
    '<%= config.bin %> <%= command.id %> my-chat --fork my-chat-retry',
    '<%= config.bin %> <%= command.id %> --from-trash old-chat',
  ]

  static override args = {
    session: Args.string({description: 'Session id or name (default: the current session; required with --from-trash).'}),
  }

  static override flags = {
    'asciicast-version': Flags.integer({description: 'With --format asciicast: write this asciicast version (2 or 3), converting a saved cast if needed.', options: ['2', '3']}),
    force: Flags.boolean({description: 'Replace --to FILE if it exists.'}),
    fork: Flags.string({description: 'Instead of writing a file, create a new session with this name from the saved one (parent set).'}),
    format: Flags.string({description: 'Convert to this format: sess, markdown, asciicast (default: the original format).'}),
    'from-trash': Flags.boolean({description: 'Bring the session back from the trash (with --to, also write it).'}),
    to: Flags.string({description: 'Write to this file (atomically), or - for stdout (default).'}),
    version: Flags.integer({description: 'Which saved version of the original (default: the latest).', min: 1}),
  }

  async run(): Promise<RestoreReport> {
    const {args, flags} = this
    const store = await this.store()
    if (flags['from-trash'] && args.session === undefined) throw new InvalidInputError('--from-trash needs the name of the session to bring back.', {hint: '`sess list --trash` lists the trash.'})
    const ref = await this.sessionRef(args.session)
    if (flags.fork !== undefined) {
      const fork = await store.fork(ref, flags.fork)
      const source = await store.get(fork.parentId!)
      if (!this.jsonEnabled()) this.log(`Forked ${source.name} into ${fork.name} (${fork.id}).`)
      return {action: 'forked', fork: {id: fork.id, name: fork.name}, id: source.id, name: source.name}
    }
    if (flags['from-trash']) {
      const session = await store.untrash(ref)
      if (flags.to === undefined) {
        if (!this.jsonEnabled()) this.log(`Brought ${session.name} back from the trash.`)
        return {action: 'untrashed', id: session.id, name: session.name}
      }
    }
    const to = flags.to ?? '-'
    if (to === '-' && this.jsonEnabled()) {
      throw new InvalidInputError('--json describes what was written, so it needs --to FILE.', {hint: 'Add --to FILE, or drop --json to get the bytes on stdout.'})
    }
    const target = to === '-' ? undefined : restoreTarget(to, store.home)
    const session = await store.get(ref)
    const result = await store.restore(session.id, {
      asciicastVersion: flags['asciicast-version'] as 2 | 3 | undefined,
      format: flags.format,
      version: flags.version,
    })
    if (target === undefined) {
      writeAll(1, result.bytes)
    } else {
      writeFileAtomic(target, result.bytes, {mode: 0o666, overwrite: flags.force})
      if (!this.jsonEnabled()) this.logToStderr(`Wrote ${session.name} to ${to} (${result.format}, ${result.bytes.length} bytes${result.original ? ', the original' : ''}).`)
    }
    return {action: 'written', bytes: result.bytes.length, format: result.format, id: session.id, name: session.name, original: result.original, to}
  }
}
