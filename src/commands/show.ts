import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../cli/base-command.ts'
import {chalk} from '../cli/style.ts'
import {formatBytes, formatTime} from '../cli/units.ts'
import type {LockState, Session, SessionRecord, StoredRecord} from '../session/types.ts'
import type {VersionInfo} from '../store/types.ts'

/** `sess show --json` output. */
export interface ShowResult {
  session: Session
  /** The session's lock (held or not; see `sess lock status`), or `null` if it was never locked. */
  lock: LockState | null
  versions: VersionInfo[]
  records: StoredRecord[]
}

export default class Show extends SessCommand<typeof Show> {
  static override summary = 'Show a session: metadata, lock holder, saved versions (with any damage found) and its last records.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> my-session',
    '<%= config.bin %> <%= command.id %> 01JD3F6Q8W0000000000000000 --records 50 --json',
    '<%= config.bin %> <%= command.id %> my-session --from 120 --records 5',
  ]

  static override args = {
    session: Args.string({description: 'Session id or name (default: the current session).'}),
  }

  static override flags = {
    from: Flags.integer({description: 'Show records from this number on (as `sess search` prints it) instead of the last ones.', min: 1}),
    records: Flags.integer({default: 10, description: 'How many of the last records (or, with --from, of the records from there) to show.', min: 0}),
    trash: Flags.boolean({description: 'Look in the trash too.'}),
  }

  async run(): Promise<ShowResult> {
    const store = await this.store()
    const session = await store.get(await this.sessionRef(this.args.session), {includeTrashed: this.flags.trash})
    const lock = session.trashedAt === null ? ((await store.locks(session.id))[0] ?? null) : null
    const versions = await store.versions(session.id, {includeTrashed: true})
    const records: StoredRecord[] = []
    if (this.flags.records > 0) {
      const from = this.flags.from
      for await (const record of store.records(session.id, from === undefined ? {includeTrashed: true, last: this.flags.records} : {after: from - 1, includeTrashed: true})) {
        records.push(record)
        if (records.length === this.flags.records) break
      }
    }
    if (!this.jsonEnabled()) this.log(render(session, lock, versions, records))
    return {lock, records, session, versions}
  }
}

function render(session: Session, lock: LockState | null, versions: VersionInfo[], records: StoredRecord[]): string {
  const field = (label: string, value: string | number | null | undefined) =>
    value === null || value === undefined || value === '' ? [] : [`${chalk.dim(label.padEnd(14))}${value}`]
  const lines = [
    chalk.bold(session.name) + (session.trashedAt === null ? '' : chalk.red('  (in the trash)')),
    ...field('id', session.id),
    ...field('kind', session.kind),
    ...field('status', session.status),
    ...field('mode', session.mode),
    ...field('title', session.title),
    ...field('format', session.format),
    ...field('model', [session.provider, session.model].filter(Boolean).join(' / ')),
    ...field('cwd', session.cwd),
    ...field('tags', session.tags.join(', ')),
    ...field('parent', session.parentId),
    ...field('owner', session.owner && `${session.owner.host} pid ${session.owner.pid}`),
    ...field('lock', lock?.held ? `held by pid ${lock.holder.pid} on ${lock.holder.host} (fencing token ${lock.token})${lock.stale === null ? '' : chalk.yellow(`, stale: ${lock.stale}`)}` : null),
    ...field('created', formatTime(session.createdAt)),
    ...field('last activity', formatTime(session.lastActivityAt)),
    ...field('closed', session.closedAt === null ? null : formatTime(session.closedAt)),
    ...field('records', session.recordCount),
    ...field('size', formatBytes(session.bytes)),
    ...field('tokens', session.tokens),
    ...field('output', session.outputBytes > 0 ? formatBytes(session.outputBytes) : null),
  ]
  if (versions.length > 0) {
    lines.push('', chalk.bold('Versions'))
    for (const v of versions) {
      const stored = v.codec === null ? '' : ` (${v.codec}: ${formatBytes(v.storedBytes)} stored)`
      lines.push(`  ${v.version}  ${v.format}  ${formatBytes(v.bytes)}${stored}  ${formatTime(v.createdAt)}  sha256:${v.sha256.slice(0, 12)}`)
      for (const d of v.damage) lines.push(chalk.yellow(`     damaged: ${d.line === null ? 'file' : `line ${d.line}`}: ${d.reason}`))
    }
  }
  if (records.length > 0) {
    const last = records.at(-1)!.seq === session.recordCount
    lines.push('', chalk.bold(last ? `Last ${records.length} records` : `Records ${records[0]!.seq}–${records.at(-1)!.seq} of ${session.recordCount}`))
    for (const {record, seq} of records) lines.push(`  ${chalk.dim(String(seq).padStart(5))}  ${summarize(record)}`)
  }
  return lines.join('\n')
}

/** One line describing a record. */
function summarize(record: SessionRecord): string {
  const clip = (text: string) => {
    const line = text.replaceAll(/\s+/g, ' ').trim()
    return line.length > 100 ? `${line.slice(0, 99)}…` : line
  }
  switch (record.type) {
    case 'message':
      return `${chalk.cyan(record.role)}: ${clip(record.parts.map((p) => (p.type === 'data' ? '[data]' : p.text)).join(' '))}`
    case 'tool_call':
      return `${chalk.magenta('tool')} ${record.name}(${clip(JSON.stringify(record.args) ?? '')})`
    case 'tool_result':
      return `${chalk.magenta('result')} ${clip(typeof record.result === 'string' ? record.result : (JSON.stringify(record.result) ?? ''))}`
    case 'state':
      return `${chalk.dim('state')} ${clip(JSON.stringify(record.state))}`
    case 'marker':
      return `${chalk.yellow('marker')} ${record.label}`
    case 'event':
      return `${chalk.dim(record.name)}`
  }
}
