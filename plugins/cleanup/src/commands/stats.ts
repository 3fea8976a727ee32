import {SessCommand} from '../../../../src/cli/base-command.ts'
import {renderTable} from '../../../../src/cli/table.ts'
import {formatBytes} from '../../../../src/cli/units.ts'
import type {StoreStats} from '../stats.ts'

export default class Stats extends SessCommand<typeof Stats> {
  static override summary = 'Show figures of the whole store: sessions by status and kind, bytes, records, trash, locks.'
  static override description = `Reads aggregates of the index (never session content) and the sizes of the store's files.

--json prints {sessions: {live, byStatus, byKind, pinned}, records, contentBytes, outputBytes, trash: {sessions, bytes}, quarantine: {batches, bytes}, locks: {held, stale}, blobs: {count, compressed, bytes, storedBytes}, disk: {database, blobs}} (sizes in bytes). blobs counts the saved originals and snapshots: bytes before compression (logical) and as stored (sess gc compresses those of idle sessions).`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<StoreStats> {
    const stats = await (await this.store()).stats()
    if (this.jsonEnabled()) return stats
    const rows: string[][] = [
      ['sessions', `${stats.sessions.live} (${stats.sessions.pinned} pinned)`],
      ...Object.entries(stats.sessions.byStatus).map(([status, n]) => [`  ${status}`, String(n)]),
      ['kinds', Object.entries(stats.sessions.byKind).map(([kind, n]) => `${kind} ${n}`).join(', ') || '-'],
      ['records', String(stats.records)],
      ['content', formatBytes(stats.contentBytes)],
      ['output buffers', formatBytes(stats.outputBytes)],
      ['trash', `${stats.trash.sessions} session(s), ${formatBytes(stats.trash.bytes)}`],
      ['quarantine', `${stats.quarantine.batches} batch(es), ${formatBytes(stats.quarantine.bytes)}`],
      ['locks', `${stats.locks.held} held, ${stats.locks.stale} stale`],
      ['blobs', `${stats.blobs.count} (${stats.blobs.compressed} compressed), ${formatBytes(stats.blobs.bytes)} before compression, ${formatBytes(stats.blobs.storedBytes)} stored${ratio(stats.blobs)}`],
      ['on disk', `database ${formatBytes(stats.disk.database)}, blobs ${formatBytes(stats.disk.blobs)}`],
    ]
    this.log(renderTable(['', ''], rows))
    return stats
  }
}

/** ` (28%)`: stored bytes as a share of the bytes before compression, when there are any. */
function ratio({bytes, storedBytes}: StoreStats['blobs']): string {
  return bytes === 0 ? '' : ` (${Math.round((storedBytes / bytes) * 100)}%)`
}
