import {Flags} from '@oclif/core'
import {SessCommand} from '../../../../src/cli/base-command.ts'
import {startProgress} from '../../../../src/cli/progress.ts'
import {chalk} from '../../../../src/cli/style.ts'
import {renderTable} from '../../../../src/cli/table.ts'
import {formatBytes, parseDurationFlag} from '../../../../src/cli/units.ts'
import {parseByteSize} from '../../../../src/store/output-limit.ts'
import {policyFromConfig} from '../config.ts'
import type {GcReport} from '../gc.ts'
import type {RetentionPolicy} from '../policy.ts'

/** `sess gc --json` output: the report, with the policy applied. */
export interface GcOutput extends GcReport {
  policy: RetentionPolicy
}

const VERB: Record<string, [done: string, planned: string]> = {
  compress: ['compressed', 'compress'],
  delete: ['deleted', 'delete'],
  purge: ['purged', 'purge'],
  quarantine: ['quarantined', 'quarantine'],
  release: ['released', 'release'],
  trash: ['trashed', 'trash'],
  unindex: ['unindexed', 'unindex'],
}

export default class Gc extends SessCommand<typeof Gc> {
  static override summary = 'Apply the retention policy, empty the trash after its grace period, and clean what crashes leave.'
  static override description = `The policy comes from the settings (sess config set gc.maxAge 30d, …) with these flags on top. Sessions are ranked by their last activity as the index records it, never by file times. Never collected: pinned sessions (sess pin), sessions locked by a live lease, and active, processing or waiting_for_input sessions whose owner process may be alive.

gc moves the sessions the policy names to the trash (sess restore --from-trash brings one back), deletes sessions that were in the trash for longer than the grace period (default 7 days), releases stale locks, deletes temp files of writes that never finished, moves content that no index row names into the quarantine ($SESS_HOME/quarantine/; on PostgreSQL, its blob_chunks rows marked quarantined), deleted after the same grace period, and unindexes rows whose content is missing. It compresses (zstd) the saved originals and snapshots of sessions idle for longer than --compress-after (default 7d; off: never), in place: reading them back is unchanged. Every item is listed with its reason: nothing is deleted that the output does not name. --dry-run prints the plan and changes nothing.

--json prints {dryRun, items: [{action, type, sessionId, name, path, reason, bytes, bytesAfter?}], skipped: [{item, reason}], kept: [{sessionId, name, reasons, keptBy}], bytesFreed, bytesTrashed, bytesQuarantined, compressed: {blobs, bytes, storedBytes}, quarantine, policy}. A compress item's bytes are before compression, its bytesAfter as stored (null in a dry run).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --max-age 30d --keep 20',
    '<%= config.bin %> <%= command.id %> --max-sessions 500 --max-size 5GiB --json',
    '<%= config.bin %> <%= command.id %> --compress-after 30d',
    '<%= config.bin %> config set gc.maxAge 30d && <%= config.bin %> <%= command.id %>',
  ]

  static override flags = {
    'compress-after': Flags.string({description: 'Compress the content of sessions idle for longer than this (7d, 12h), or off (default: gc.compressAfter, else 7d).'}),
    'dry-run': Flags.boolean({description: 'Print the plan; change nothing.'}),
    keep: Flags.integer({description: 'Always keep the newest N sessions (keepAtLeast).', min: 0}),
    'max-age': Flags.string({description: 'Collect sessions whose last activity is older than this (30d, 12h).'}),
    'max-sessions': Flags.integer({description: 'Keep the newest N sessions; collect the older ones.', min: 0}),
    'max-size': Flags.string({description: 'Keep the newest sessions while their bytes add up to at most this (5GiB, 500MB).'}),
    'trash-grace': Flags.string({description: 'How long a session stays in the trash (and a file in the quarantine) before gc deletes it (default 7d).'}),
    wait: Flags.string({default: '0', description: 'How long to wait for another gc run on the store to end (exit 3 after that).'}),
  }

  async run(): Promise<GcOutput> {
    const {flags} = this
    const store = await this.store()
    const policy: RetentionPolicy = {...policyFromConfig(store.config())}
    if (flags['max-age'] !== undefined) policy.maxAge = parseDurationFlag('max-age', flags['max-age'])
    if (flags['max-sessions'] !== undefined) policy.maxSessions = flags['max-sessions']
    if (flags['max-size'] !== undefined) policy.maxBytes = parseByteSize('--max-size', flags['max-size'])
    if (flags.keep !== undefined) policy.keepAtLeast = flags.keep
    if (flags['trash-grace'] !== undefined) policy.trashGrace = parseDurationFlag('trash-grace', flags['trash-grace'])
    if (flags['compress-after'] !== undefined) policy.compressAfter = flags['compress-after'].trim() === 'off' ? null : parseDurationFlag('compress-after', flags['compress-after'])
    const dryRun = flags['dry-run'] === true
    const progress = startProgress(dryRun ? 'Planning' : 'Collecting', {enabled: !this.jsonEnabled()})
    let report: GcReport
    try {
      report = await store.gc(policy, {dryRun, onProgress: (done, total) => progress.update(done, `of ${total}`), wait: parseDurationFlag('wait', flags.wait)})
    } finally {
      progress.stop()
    }
    if (!this.jsonEnabled()) this.print(report, dryRun)
    return {...report, policy}
  }

  print(report: GcReport, dryRun: boolean): void {
    const verb = (action: string) => VERB[action]![dryRun ? 1 : 0]
    if (report.items.length > 0) {
      const size = (item: GcReport['items'][number]) => (typeof item.bytesAfter === 'number' ? `${formatBytes(item.bytes)} → ${formatBytes(item.bytesAfter)}` : formatBytes(item.bytes))
      this.log(renderTable(['ACTION', 'WHAT', 'SIZE', 'REASON'], report.items.map((item) => [verb(item.action), item.name ?? item.path ?? '', size(item), item.reason])))
    }
    if (report.kept.length > 0) {
      this.log(chalk.dim(`\nKept, though a limit names them:`))
      this.log(renderTable(['SESSION', 'KEPT BECAUSE', 'LIMIT'], report.kept.map((kept) => [kept.name, kept.keptBy, kept.reasons.join('; ')])))
    }
    for (const {item, reason} of report.skipped) this.logToStderr(`${chalk.yellow('Skipped:')} ${VERB[item.action]![1]} ${item.name ?? item.path}: ${reason}`)
    const trashed = report.items.filter((item) => item.action === 'trash').length
    const quarantined = report.items.filter((item) => item.action === 'quarantine').length
    const compressing = report.items.filter((item) => item.action === 'compress')
    const {compressed} = report
    const parts = [
      `${dryRun ? 'Would free' : 'Freed'} ${formatBytes(report.bytesFreed)}`,
      `${dryRun ? 'would move' : 'moved'} ${trashed} session(s) (${formatBytes(report.bytesTrashed)}) to the trash`,
      ...(quarantined > 0 ? [`${dryRun ? 'would quarantine' : 'quarantined'} ${quarantined} item(s) (${formatBytes(report.bytesQuarantined)})${report.quarantine ? ` in ${report.quarantine}` : ''}`] : []),
      ...(dryRun && compressing.length > 0 ? [`would compress ${compressing.length} blob(s) (${formatBytes(compressing.reduce((sum, item) => sum + item.bytes, 0))})`] : []),
      ...(compressed.blobs > 0 ? [`compressed ${compressed.blobs} blob(s), ${formatBytes(compressed.bytes)} → ${formatBytes(compressed.storedBytes)}`] : []),
    ]
    this.log(`${report.items.length === 0 ? 'Nothing to do. ' : ''}${parts.join('; ')}.${dryRun ? chalk.dim(' (dry run: nothing changed)') : ''}`)
  }
}
