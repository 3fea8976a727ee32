import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../cli/base-command.ts'

/** One line of `sess rm --json`. */
export interface RemovedSession {
  id: string
  name: string
  purged: boolean
}

export default class Rm extends SessCommand<typeof Rm> {
  static override summary = 'Move sessions to the trash (or delete them at once with --purge).'
  static override description = 'A session in the trash comes back with `sess restore --from-trash NAME` until it is purged.'

  static override examples = ['<%= config.bin %> <%= command.id %> old-chat', '<%= config.bin %> <%= command.id %> a b c --purge']

  static override strict = false

  static override args = {
    session: Args.string({description: 'Session ids or names.', required: true}),
  }

  static override flags = {
    purge: Flags.boolean({description: 'Delete at once, content included, instead of moving to the trash.'}),
  }

  async run(): Promise<RemovedSession[]> {
    const store = await this.store()
    const removed: RemovedSession[] = []
    const purge = this.flags.purge === true
    for (const ref of this.positionals) {
      const session = await store.remove(ref, {purge})
      removed.push({id: session.id, name: session.name, purged: purge})
      if (!this.jsonEnabled()) {
        this.log(purge ? `Deleted ${session.name} (${session.id}).` : `Moved ${session.name} to the trash; \`sess restore --from-trash ${session.name}\` brings it back.`)
      }
    }
    return removed
  }
}
