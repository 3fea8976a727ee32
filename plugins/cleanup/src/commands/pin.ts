import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../../../../src/cli/base-command.ts'

/** One line of `sess pin --json`. */
export interface PinnedSession {
  id: string
  name: string
  pinned: boolean
}

export default class Pin extends SessCommand<typeof Pin> {
  static override summary = 'Pin sessions: sess gc never collects them, whatever the retention policy (--off unpins).'
  static override description = 'A pinned session in the trash is not purged either.'
  static override examples = ['<%= config.bin %> <%= command.id %> fix-login', '<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> a b c --json', '<%= config.bin %> <%= command.id %> fix-login --off']
  static override strict = false
  static override args = {session: Args.string({description: 'Session ids or names (default: the current session).'})}
  static override flags = {off: Flags.boolean({description: 'Unpin instead: the retention policy applies to them again.'})}

  async run(): Promise<PinnedSession[]> {
    const store = await this.store()
    const pinned = this.flags.off !== true
    const done: PinnedSession[] = []
    const refs = this.positionals.length > 0 ? this.positionals : [await this.sessionRef(undefined)]
    for (const ref of refs) {
      const session = await store.pin(ref, pinned)
      done.push({id: session.id, name: session.name, pinned})
      if (!this.jsonEnabled()) this.log(`${pinned ? 'Pinned' : 'Unpinned'} ${session.name}.`)
    }
    return done
  }
}
