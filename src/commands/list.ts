import {Flags} from '@oclif/core'
import {SessCommand} from '../cli/base-command.ts'
import {chalk} from '../cli/style.ts'
import {renderTable} from '../cli/table.ts'
import {formatBytes, formatTime, parseTimeFlag} from '../cli/units.ts'
import {IN_USE_STATUSES, SESSION_STATUSES, type SessionStatus} from '../session/status.ts'
import type {Session} from '../session/types.ts'

const STATUS_COLOR: Record<SessionStatus, (text: string) => string> = {
  active: chalk.green,
  completed: chalk.dim,
  paused: chalk.yellow,
  processing: chalk.cyan,
  terminated: chalk.red,
  waiting_for_input: chalk.magenta,
}

export default class List extends SessCommand<typeof List> {
  static override summary = 'List sessions, newest activity first.'
  static override description = `Reads the index only (never session content), so it stays fast at 100,000 sessions. The current session of this terminal (or directory) is marked with *, as git branch marks the current branch; --active lists the sessions in use (active, waiting for input, processing), --waiting those waiting for input. Sessions idle past sessions.idleTimeout are paused first.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --status active --kind agent --since 7d',
    "<%= config.bin %> <%= command.id %> --tag work --name 'fix-*' --limit 0 --json",
    '<%= config.bin %> <%= command.id %> --waiting',
  ]

  static override flags = {
    active: Flags.boolean({description: 'Only sessions in use: active, waiting for input or processing.', exclusive: ['status', 'waiting']}),
    kind: Flags.string({description: 'Only sessions of this kind (repeatable).', multiple: true}),
    limit: Flags.integer({default: 50, description: 'At most this many rows; 0 for all.', min: 0}),
    name: Flags.string({description: 'Only names matching this glob (* and ?).'}),
    since: Flags.string({description: 'Last activity at or after: a duration back (7d, 12h) or a date.'}),
    status: Flags.string({description: 'Only sessions in this status (repeatable).', multiple: true, options: [...SESSION_STATUSES]}),
    tag: Flags.string({description: 'Only sessions with this tag (repeatable: all must match).', multiple: true}),
    trash: Flags.boolean({description: 'List the trash instead.'}),
    until: Flags.string({description: 'Last activity before: a duration back or a date.'}),
    waiting: Flags.boolean({description: 'Only sessions waiting for input.', exclusive: ['status', 'active']}),
  }

  async run(): Promise<Session[]> {
    const {flags} = this
    const store = await this.store()
    await store.pauseIdle()
    const status = flags.active ? [...IN_USE_STATUSES] : flags.waiting ? ['waiting_for_input'] : flags.status
    const sessions = await store.list({
      kind: flags.kind,
      limit: flags.limit === 0 ? undefined : flags.limit,
      name: flags.name,
      since: flags.since === undefined ? undefined : parseTimeFlag('since', flags.since),
      status: status as SessionStatus[] | undefined,
      tags: flags.tag,
      trashed: flags.trash,
      until: flags.until === undefined ? undefined : parseTimeFlag('until', flags.until),
    })
    if (!this.jsonEnabled()) {
      if (sessions.length === 0) this.logToStderr(flags.trash ? 'The trash is empty.' : 'No sessions. Save some with `sess save PATH`.')
      else {
        const current = flags.trash ? undefined : await store.current().then(({session}) => session.id, () => undefined)
        this.log(renderTable(['', 'NAME', 'KIND', 'STATUS', 'LAST ACTIVITY', 'RECORDS', 'SIZE', 'TAGS'], sessions.map((session) => row(session, session.id === current))))
      }
    }
    return sessions
  }
}

function row(session: Session, current: boolean): string[] {
  return [
    current ? chalk.green('*') : ' ',
    chalk.bold(session.name),
    session.kind,
    STATUS_COLOR[session.status](session.status),
    formatTime(session.lastActivityAt),
    String(session.recordCount),
    formatBytes(session.bytes),
    session.tags.join(','),
  ]
}
