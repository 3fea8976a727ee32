import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../../../../../src/cli/base-command.ts'
import {parseDurationFlag} from '../../../../../src/cli/units.ts'

/** `sess lock renew --json` output. */
export interface RenewReport {
  sessionId: string
  fencingToken: number
  /** ms since the epoch. */
  expiresAt: number
}

export default class LockRenew extends SessCommand<typeof LockRenew> {
  static override summary = 'Extend a lease taken with `sess lock acquire`.'
  static override description = `Exit status: 0 renewed, 3 the lease no longer holds its lock (released, expired or taken over: take the lock again), 2 not a lease token of this store.`

  static override examples = ['<%= config.bin %> <%= command.id %> "$token"', '<%= config.bin %> <%= command.id %> "$token" --ttl 10m']

  static override args = {
    token: Args.string({description: 'The lease token `sess lock acquire` printed.', required: true}),
  }

  static override flags = {
    ttl: Flags.string({description: 'New lease length from now (default: the lease’s own).'}),
  }

  async run(): Promise<RenewReport> {
    const store = await this.store()
    const lease = await store.lease(this.args.token)
    await lease.renew(this.flags.ttl === undefined ? undefined : parseDurationFlag('ttl', this.flags.ttl))
    if (!this.jsonEnabled()) this.log(`Renewed the lease (fencing token ${lease.token}) until ${new Date(lease.expiresAt).toLocaleTimeString()}.`)
    return {expiresAt: lease.expiresAt, fencingToken: lease.token, sessionId: lease.sessionId}
  }
}
