import {Args, Flags} from '@oclif/core'
import {callingProcess} from '../../plugins/locking/src/calling-shell.ts'
import {SessCommand} from '../cli/base-command.ts'
import type {SwitchResult} from '../coordinator/coordinator.ts'

export default class New extends SessCommand<typeof New> {
  static override summary = 'Start a session and make it the current one of this terminal (like tmux new-session).'
  static override description = `The session is active and owned by the calling shell (npx, npm exec and bunx are looked through). Without NAME, one is made from KIND and the time (chat-20261121-143210, suffixed -2… when taken). The session current in this terminal before goes to the background: its output is kept, and \`sess switch\` back replays what it missed. With --dir it becomes the current session of this directory instead (and of the directories below it). Outside any terminal (no controlling tty, no tmux pane, no SESS_TERMINAL) no current session is set.

Exit status: 0 started; 1 when sessions.maxActive sessions are already in use (close one, or raise the limit); 2 an invalid or taken name.

--json prints {session, pointer: {scope, key} | null, previous}.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> agent fix-login', '<%= config.bin %> <%= command.id %> chat --dir --json']

  static override args = {
    kind: Args.string({default: 'chat', description: 'Kind of session: chat, agent, terminal or any other (default chat).'}),
    name: Args.string({description: 'Its name: 1–64 of A–Z a–z 0–9 . _ -, starting with a letter or digit (default: made from kind and time).'}),
  }

  static override flags = {
    dir: Flags.boolean({description: 'Make it the current session of this directory instead of this terminal.'}),
    tag: Flags.string({description: 'Tag (repeatable).', multiple: true}),
    title: Flags.string({description: 'A title.'}),
  }

  async run(): Promise<Omit<SwitchResult, 'replayed'>> {
    const {args, flags} = this
    const store = await this.store()
    const {pointer, previous, session} = await store.newSession({
      cwd: process.cwd(),
      kind: args.kind,
      name: args.name,
      ownerPid: callingProcess(),
      scope: flags.dir ? 'directory' : 'terminal',
      tags: flags.tag,
      title: flags.title,
    })
    if (!this.jsonEnabled()) {
      this.log(session.name)
      if (pointer === null) this.logToStderr('Not made current: sess runs in no terminal here (use --dir, or name the terminal with SESS_TERMINAL).')
      else if (previous) this.logToStderr(`${previous.name} is now in the background.`)
    }
    return {pointer, previous, session}
  }
}
