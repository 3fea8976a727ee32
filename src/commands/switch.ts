import {Args, Flags} from '@oclif/core'
import {callingProcess} from '../../plugins/locking/src/calling-shell.ts'
import {SessCommand} from '../cli/base-command.ts'
import type {SwitchResult} from '../coordinator/coordinator.ts'
import {writeAll} from '../os/write-all.ts'

/** `sess switch --json` output. */
export type SwitchReport = Omit<SwitchResult, 'replayed'> & {
  /** The output the session missed in the background, as replayed: events, UTF-8 bytes, and the text itself. */
  replayed: SwitchResult['replayed'] & {text: string}
}

export default class Switch extends SessCommand<typeof Switch> {
  static override summary = 'Make a session the current one of this terminal (or, with --dir, of this directory), like git switch.'
  static override description = `The session comes to the foreground, and the output it missed while in the background is written to stdout (through the replay plugin; with --json it is in replayed.text). The session current in this terminal before goes to the background. A paused or completed session is resumed: active again, owned by the calling shell, within sessions.maxActive.

Commands that take a session (show, close, replay, restore, pin, lock acquire) use the current session when none is named: this terminal's, else that of the nearest directory (--dir) up from the working directory.

Exit status: 0 switched; 4 no such session (or it is in the trash); 1 resuming it would exceed sessions.maxActive; 2 a terminated session cannot be resumed, or no terminal here without --dir.`

  static override examples = ['<%= config.bin %> <%= command.id %> fix-login', '<%= config.bin %> <%= command.id %> fix-login --dir', 'SESS_TERMINAL=ci-job-7 <%= config.bin %> <%= command.id %> build-42 --json']

  static override args = {
    session: Args.string({description: 'Session id or name.', required: true}),
  }

  static override flags = {
    dir: Flags.boolean({description: 'Set the current session of this directory (and those below it) instead of this terminal.'}),
  }

  async run(): Promise<SwitchReport> {
    const chunks: string[] = []
    const json = this.jsonEnabled()
    const result = await (await this.store()).switchTo(this.args.session, {
      ownerPid: callingProcess(),
      scope: this.flags.dir ? 'directory' : 'terminal',
      sink: (event) => {
        if (json) chunks.push(event.data)
        else writeAll(1, Buffer.from(event.data))
      },
    })
    if (!json) {
      const missed = result.replayed.events > 0 ? ` (${result.replayed.events} events of output it missed replayed above)` : ''
      this.logToStderr(`Switched to ${result.session.name}${missed}${result.previous ? `; ${result.previous.name} is now in the background` : ''}.`)
    }
    return {...result, replayed: {...result.replayed, text: chunks.join('')}}
  }
}
