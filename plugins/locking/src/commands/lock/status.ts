import {Args} from '@oclif/core'
import ms from 'ms'
import {SessCommand} from '../../../../../src/cli/base-command.ts'
import {chalk} from '../../../../../src/cli/style.ts'
import {renderTable} from '../../../../../src/cli/table.ts'
import {describeExpiry} from '../../../../../src/lock/describe.ts'
import type {LockState} from '../../../../../src/session/types.ts'

export default class LockStatus extends SessCommand<typeof LockStatus> {
  static override summary = 'Show who holds session locks: holders, ages, fencing tokens, and which are stale and why.'
  static override description = `Without a session: every held lock. With one: its lock, held or not. A stale lock is one its holder can no longer use (its lease expired, or its holder is provably dead); the next taker breaks it at once.

--json prints an array of locks: sessionId, name, token, held, holder {host, pid, startTime, bootId}, acquiredAt, renewedAt, expiresAt, releasedAt (ms since the epoch), ttl (ms), stale (the reason, or null).`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> my-chat --json']

  static override args = {
    session: Args.string({description: 'Session id or name (default: every held lock).'}),
  }

  async run(): Promise<LockState[]> {
    const store = await this.store()
    const locks = await store.locks(this.args.session)
    if (this.jsonEnabled()) return locks
    if (locks.length === 0) {
      this.log(this.args.session === undefined ? 'No session lock is held.' : `Session ${this.args.session} has never been locked.`)
      return locks
    }
    const now = Date.now()
    const rows = locks.map((lock) => [
      lock.name,
      String(lock.token),
      `pid ${lock.holder.pid} on ${lock.holder.host}`,
      lock.held ? ms(Math.max(0, now - lock.acquiredAt)) : '-',
      lock.held ? describeExpiry(lock.expiresAt, now) : `released ${ms(Math.max(0, now - (lock.releasedAt ?? now)))} ago`,
      lock.stale !== null ? chalk.yellow(`stale: ${lock.stale}`) : lock.held ? chalk.green('held') : 'free',
    ])
    this.log(renderTable(['SESSION', 'TOKEN', 'HOLDER', 'HELD FOR', 'LEASE', 'STATE'], rows))
    return locks
  }
}
