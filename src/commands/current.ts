import {SessCommand} from '../cli/base-command.ts'
import type {CurrentSession} from '../coordinator/pointers.ts'

export default class Current extends SessCommand<typeof Current> {
  static override summary = 'Print the current session: that of this terminal, else that of the nearest directory.'
  static override description = `The terminal is the controlling tty with its terminal session (so a reused pty is a new terminal), the tmux pane when in tmux, or SESS_TERMINAL when set. Directory pointers come from \`sess switch --dir\` and apply below that directory too.

Exit status: 0; 4 no current session, or it was moved to the trash or deleted (the message says which).

--json prints {session, scope: "terminal" | "directory", key, sessionId, sessionName}.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> show "$(<%= config.bin %> <%= command.id %>)"', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<CurrentSession> {
    const store = await this.store()
    await store.pauseIdle()
    const current = await store.current()
    if (!this.jsonEnabled()) this.log(current.session.name)
    return current
  }
}
