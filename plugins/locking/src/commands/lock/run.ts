import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../../../../../src/cli/base-command.ts'
import {chalk} from '../../../../../src/cli/style.ts'
import {parseDurationFlag} from '../../../../../src/cli/units.ts'
import {CommandError, InvalidInputError} from '../../../../../src/errors/index.ts'
import {exitStatus, relaySignals, TERMINAL_SIGNALS} from '../../../../../src/os/child-process.ts'

/** `sess lock run --json` output (after the command ends). */
export interface RunReport {
  sessionId: string
  fencingToken: number
  /** The command's exit status, as sess exits with it (128 + n when killed by signal n). */
  exitCode: number
}

/**
 * Signals passed on to the command while it runs. sess outlives ^C and ^\ (which reach the command
 * from the terminal, as it shares sess's process group), so that it can release the lock after it.
 */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP']

export default class LockRun extends SessCommand<typeof LockRun> {
  static override summary = "Run a command while holding a session's lock (like flock(1))."
  static override description = `Takes the lock (waiting up to --wait), runs CMD with SESS_LOCK_TOKEN set so that sess commands and library calls inside it write under the lock, renews the lease while CMD runs, and releases it when CMD ends. SIGTERM and SIGHUP are passed on to CMD; ^C and ^\\ reach CMD from the terminal, and sess waits for CMD to end.

Exit status: CMD's own (128 + n when CMD was killed by signal n); 3 when the lock was not acquired in time (the message names the holder); 4 no such session; 2 bad usage; 126/127 when CMD cannot be run or is not found.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> my-chat -- ./agent --resume my-chat',
    '<%= config.bin %> <%= command.id %> my-chat --wait 30s --ttl 1m -- sh -c \'sess save --session my-chat out.jsonl\'',
  ]

  static override strict = false

  static override args = {
    session: Args.string({description: 'Session id or name.', required: true}),
  }

  static override flags = {
    ttl: Flags.string({default: '30s', description: 'Lease length (renewed every third of it while CMD runs).'}),
    wait: Flags.string({default: '0', description: 'How long to wait for a held lock (0: fail at once; 30s, 2m).'}),
  }

  async run(): Promise<RunReport> {
    const {args, flags} = this
    const command = this.positionals.slice(1)
    if (command.length === 0) throw new InvalidInputError('No command to run.', {hint: 'Give it after --: sess lock run NAME -- CMD [ARGS…]'})
    const store = await this.store()
    await using lease = await store.lock(args.session, {ttl: parseDurationFlag('ttl', flags.ttl), wait: parseDurationFlag('wait', flags.wait)})
    lease.signal.addEventListener('abort', () => this.logToStderr(`${chalk.yellow('Warning:')} ${(lease.signal.reason as Error).message} Writes under it are refused from now on.`), {once: true})
    const tokens = [process.env.SESS_LOCK_TOKEN, lease.tokenString].filter((token) => token !== undefined && token !== '')
    let child
    try {
      child = Bun.spawn(command, {env: {...process.env, SESS_LOCK_TOKEN: tokens.join(',')}, stdio: ['inherit', 'inherit', 'inherit']})
    } catch (error) {
      throw new CommandError(command[0]!, (error as NodeJS.ErrnoException).code === 'ENOENT', {cause: error})
    }
    const stopRelaying = relaySignals(child, FORWARDED, TERMINAL_SIGNALS)
    try {
      await child.exited
    } finally {
      stopRelaying()
    }
    const report = {exitCode: exitStatus(child), fencingToken: lease.token, sessionId: lease.sessionId}
    await lease.release()
    if (report.exitCode === 0) return report
    if (this.jsonEnabled()) this.logJson(report)
    return this.exit(report.exitCode)
  }
}
