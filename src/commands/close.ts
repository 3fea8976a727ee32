import {Args} from '@oclif/core'
import {callingProcess} from '../../plugins/locking/src/calling-shell.ts'
import {SessCommand} from '../cli/base-command.ts'
import type {CloseResult} from '../coordinator/coordinator.ts'

export default class Close extends SessCommand<typeof Close> {
  static override summary = 'Close a session (default: the current one): completed, its lock released, no longer current anywhere.'
  static override description = `Marks it completed through the status state machine (its closed time set), releases its lock if the calling shell (or SESS_LOCK_TOKEN) holds it, removes it as the current session of every terminal and directory, and puts it in the background. \`sess switch NAME\` reopens it.

Exit status: 0 closed; 4 no such session, or no current session; 2 bad usage.

--json prints {session, releasedLock, pointers}.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> fix-login --json']

  static override args = {
    session: Args.string({description: 'Session id or name (default: the current session).'}),
  }

  async run(): Promise<CloseResult> {
    const result = await (await this.store()).closeSession(this.args.session, {holderPid: callingProcess()})
    if (!this.jsonEnabled()) this.log(`Closed ${result.session.name}${result.releasedLock ? ' and released its lock' : ''}.`)
    return result
  }
}
