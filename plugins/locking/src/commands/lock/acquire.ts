import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../../../../../src/cli/base-command.ts'
import {parseDurationFlag} from '../../../../../src/cli/units.ts'
import type {LockHolder} from '../../../../../src/session/types.ts'
import {callingProcess} from '../../calling-shell.ts'

/** `sess lock acquire --json` output. */
export interface AcquireReport {
  /** The lease token to pass to `sess lock renew|release` and in `SESS_LOCK_TOKEN`. */
  token: string
  sessionId: string
  name: string
  /** Fencing token of this grant. */
  fencingToken: number
  /** ms since the epoch. */
  expiresAt: number
  holder: LockHolder
}

export default class LockAcquire extends SessCommand<typeof LockAcquire> {
  static override summary = "Take a session's lock for a script and print its lease token."
  static override description = `The lease belongs to the calling shell (or --pid), not to this command. It ends with \`sess lock release TOKEN\`, when its holder dies (proved at once on this host), or when its TTL passes without \`sess lock renew TOKEN\`. While it is held, writers to the session wait for it; commands given the token in SESS_LOCK_TOKEN write under it.

Exit status: 0 acquired, 3 still held by someone else after --wait (the message names the holder), 4 no such session, 2 bad usage.`

  static override examples = [
    `token=$(<%= config.bin %> <%= command.id %> my-chat --ttl 10m --wait 30s)
SESS_LOCK_TOKEN=$token <%= config.bin %> save --session my-chat chat.jsonl
<%= config.bin %> lock release "$token"`,
  ]

  static override args = {
    session: Args.string({description: 'Session id or name (default: the current session).'}),
  }

  static override flags = {
    pid: Flags.integer({description: 'Process that holds the lease (default: the calling shell).', min: 1}),
    ttl: Flags.string({default: '5m', description: 'Lease length (30s, 5m, 1h); renew before it ends.'}),
    wait: Flags.string({default: '0', description: 'How long to wait for a held lock (0: fail at once; 30s, 2m).'}),
  }

  async run(): Promise<AcquireReport> {
    const {args, flags} = this
    const store = await this.store()
    const lease = await store.lock(await this.sessionRef(args.session), {
      pid: flags.pid ?? callingProcess(),
      ttl: parseDurationFlag('ttl', flags.ttl),
      wait: parseDurationFlag('wait', flags.wait),
    })
    const token = lease.detach()
    const session = await store.get(lease.sessionId)
    if (!this.jsonEnabled()) this.log(token)
    return {expiresAt: lease.expiresAt, fencingToken: lease.token, holder: lease.holder, name: session.name, sessionId: session.id, token}
  }
}
