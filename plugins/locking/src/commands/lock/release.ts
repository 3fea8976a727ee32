import {Args} from '@oclif/core'
import {SessCommand} from '../../../../../src/cli/base-command.ts'
import {LockError} from '../../../../../src/errors/index.ts'

/** `sess lock release --json` output. */
export interface ReleaseReport {
  sessionId: string
  fencingToken: number
  released: true
}

export default class LockRelease extends SessCommand<typeof LockRelease> {
  static override summary = 'Release a lease taken with `sess lock acquire`.'
  static override description = `Exit status: 0 released, 3 the lease no longer held its lock (released before, expired or taken over), 2 not a lease token of this store.`

  static override examples = ['<%= config.bin %> <%= command.id %> "$token"', `token=$(<%= config.bin %> lock acquire my-chat) && trap '<%= config.bin %> lock release "$token"' EXIT`]

  static override args = {
    token: Args.string({description: 'The lease token `sess lock acquire` printed.', required: true}),
  }

  async run(): Promise<ReleaseReport> {
    const store = await this.store()
    const lease = await store.lease(this.args.token)
    if (!(await lease.release())) throw new LockError(`The lease (fencing token ${lease.token}) no longer held its lock when released.`, {hint: 'See `sess lock status` for who holds it now.'})
    if (!this.jsonEnabled()) this.log(`Released the lock (fencing token ${lease.token}).`)
    return {fencingToken: lease.token, released: true, sessionId: lease.sessionId}
  }
}
