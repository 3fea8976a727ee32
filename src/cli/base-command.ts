import {Command, Flags, type Interfaces, ux} from '@oclif/core'
import {InvalidInputError, SessError} from '../errors/index.ts'
import {openStore} from '../store/open-store.ts'
import type {Store} from '../store/store.ts'
import {collectBusPlugins} from './hooks.ts'
import {chalk} from './style.ts'

/** Flags of a command class `T`, with the base flags. */
export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof SessCommand)['baseFlags'] & T['flags']>
/** Arguments of a command class `T`. */
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Base of every sess command: `--home` and `--json` on all of them, the store opened on demand
 * with every installed plugin on its bus, and one error path: a {@link SessError} becomes a clear
 * message, a hint and its documented exit code (never a stack trace; set `DEBUG=sess` for one).
 */
export abstract class SessCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    home: Flags.string({
      description: 'Store directory (default: $SESS_HOME, else $XDG_DATA_HOME/sess).',
      env: 'SESS_HOME',
      helpGroup: 'GLOBAL',
    }),
  }

  static override enableJsonFlag = true

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  /** The positional arguments, in order (for commands that take many: `static strict = false`). */
  protected positionals: string[] = []
  #store: Store | undefined

  public override async init(): Promise<void> {
    await super.init()
    const {args, argv, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof SessCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
    this.positionals = argv as string[]
  }

  /** The store, opened once per command with the installed plugins on its bus. */
  protected async store(options: {autoMigrate?: boolean} = {}): Promise<Store> {
    if (this.#store) return this.#store
    const warn = (message: string) => this.logToStderr(`${chalk.yellow('Warning:')} ${message}`)
    const plugins = await collectBusPlugins(this.config, warn)
    this.#store = await openStore({
      autoMigrate: options.autoMigrate,
      home: this.flags.home,
      onPluginError: ({error, event, plugin}) => warn(`plugin ${plugin} failed in ${event} (${error instanceof Error ? error.message : String(error)}); carried on without it`),
      plugins,
    })
    for (const warning of this.#store.warnings) warn(warning)
    return this.#store
  }

  /**
   * The session a command names, or when it names none the current session here (this
   * terminal's, else the nearest directory's; see `store.current()`), as its id.
   *
   * @throws {NotFoundError} when `ref` is omitted and there is no current session (or it was removed).
   */
  protected async sessionRef(ref: string | undefined): Promise<string> {
    return ref ?? (await (await this.store()).current()).session.id
  }

  /**
   * Prints `--json` output as oclif does (pretty, two spaces), without oclif's colouriser unless a
   * JSON theme asks for colours: its tokenizer is quadratic in the length of the output (minutes
   * for the 20 MB of a large `sess gc --dry-run --json`), and it prints the same bytes without one.
   */
  public override logJson(json: unknown): void {
    if (this.config.theme?.json) return super.logJson(json)
    ux.stdout(JSON.stringify(json, null, 2))
  }

  protected override async catch(error: Error & {code?: string; oclif?: {exit?: number}}): Promise<never> {
    if (error.code === 'EEXIT') throw error // this.exit(): not an error
    const failure = toSessError(error)
    if (process.env.DEBUG && error.stack) this.logToStderr(error.stack)
    if (this.jsonEnabled()) {
      this.logJson({error: failure.toJSON()})
    } else {
      this.logToStderr(`${chalk.red('Error:')} ${failure.message}`)
      if (failure.hint) this.logToStderr(`${chalk.dim('Hint:')} ${failure.hint}`)
    }
    return this.exit(failure.exitCode)
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    await this.#store?.close()
    await super.finally(error)
  }
}

/** Any thrown value as a {@link SessError}: oclif's parse errors are usage errors (exit 2). */
function toSessError(error: Error & {oclif?: {exit?: number}}): SessError {
  if (error instanceof SessError) return error
  if (error.oclif?.exit === 2) {
    const lines = error.message.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('See more help'))
    return new InvalidInputError(lines.join(' '), {hint: 'See --help for usage.'})
  }
  return new SessError(error.message || String(error), 'E_INTERNAL', 1, {hint: 'This is a bug in sess or a plugin; rerun with DEBUG=sess for details.'})
}
