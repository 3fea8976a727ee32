import {Args} from '@oclif/core'
import {SessCommand} from '../cli/base-command.ts'
import type {Session} from '../session/types.ts'

/** `sess rename --json` output. */
export interface RenameReport {
  session: Session
  previousName: string
}

export default class Rename extends SessCommand<typeof Rename> {
  static override summary = 'Rename a session; with one name, rename the current session (like git branch -m).'
  static override description = `A name is 1–64 of A–Z a–z 0–9 . _ -, starting with a letter or digit, and unique among the sessions outside the trash. Pointers to it (sess current) follow the rename.

Exit status: 0 renamed; 2 an invalid name, or one that is taken; 4 no such session (or no current session with one name).`

  static override examples = ['<%= config.bin %> <%= command.id %> chat-20261121-143210 fix-login', '<%= config.bin %> <%= command.id %> fix-login-2 --json']

  static override args = {
    old: Args.string({description: 'The session (id or name); with no second name, the new name of the current session.', required: true}),
    new: Args.string({description: 'Its new name.'}),
  }

  async run(): Promise<RenameReport> {
    const store = await this.store()
    const [ref, name] = this.args.new === undefined ? [await this.sessionRef(undefined), this.args.old] : [this.args.old, this.args.new]
    const before = await store.get(ref)
    const session = await store.rename(before.id, name)
    if (!this.jsonEnabled()) this.log(`Renamed ${before.name} to ${session.name}.`)
    return {previousName: before.name, session}
  }
}
