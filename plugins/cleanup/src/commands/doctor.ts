import {Flags} from '@oclif/core'
import {SessCommand} from '../../../../src/cli/base-command.ts'
import {startProgress} from '../../../../src/cli/progress.ts'
import {chalk} from '../../../../src/cli/style.ts'
import {resolveHome} from '../../../../src/store/home.ts'
import type {DoctorReport, DoctorResult} from '../doctor.ts'
import {leakedDescriptors, ownDescriptorsUnder} from '../fds.ts'

export default class Doctor extends SessCommand<typeof Doctor> {
  static override summary = 'Check the store for leaks and damage; exit 1 when anything is found (for CI).'
  static override description = `Finds, without changing anything: stale locks, active sessions whose owner process is gone, temp files, content no index row names and rows whose content is missing, damaged content (length or SHA-256), index counters that disagree with the content, a database that fails its integrity check or a schema behind, wrong file modes (home and directories 0700, files 0600), symlinks in the store, output buffers over their bound, the trash and the quarantine past their grace period, and descriptors into the store that this command itself left open.

--fix repairs what is safe (releases stale locks, marks sessions of dead owners terminated, deletes temp files, fixes modes, evicts output, re-indexes counters) and moves what is not into the quarantine (orphans, symlinks, damaged content, whose rows are unindexed): $SESS_HOME/quarantine/, or for content in PostgreSQL its blob_chunks rows marked quarantined. The trash and the quarantine are left to sess gc.

Exits 0 when the store is clean (or --fix repaired everything it found), 1 otherwise. --json prints {clean, quarantine, findings: [{kind, severity, sessionId, path, message, fix, fixed}]}.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --fix', '<%= config.bin %> <%= command.id %> --json || exit 1']

  static override flags = {
    checksums: Flags.boolean({allowNo: true, default: true, description: 'Read every blob and check its SHA-256 (--no-checksums: presence and length only).'}),
    fix: Flags.boolean({description: 'Repair what is safe, quarantine what is not.'}),
  }

  async run(): Promise<DoctorReport> {
    const home = resolveHome(this.flags.home)
    const before = ownDescriptorsUnder(home)
    const store = await this.store({autoMigrate: false})
    const progress = startProgress(this.flags.fix ? 'Checking and repairing the store' : 'Checking the store', {enabled: !this.jsonEnabled()})
    let report: DoctorReport
    try {
      // Descriptors are compared once, around the whole command (below), not again around the run.
      report = await store.doctor({checksums: this.flags.checksums, descriptorsBefore: null, fix: this.flags.fix})
    } finally {
      progress.stop()
    }
    await store.close()
    for (const {fd, target} of leakedDescriptors(before, home)) {
      report.findings.push({fix: null, fixed: false, kind: 'leaked-handle', message: `sess left descriptor ${fd} open on ${target} after closing the store.`, path: target, sessionId: null, severity: 'error'})
      report.clean = false
    }
    if (this.jsonEnabled()) this.logJson(report)
    else this.print(report)
    return this.exit(report.clean ? 0 : 1)
  }

  print(report: DoctorReport): void {
    if (report.findings.length === 0) {
      this.log(chalk.green('The store is clean.'))
      return
    }
    for (const finding of report.findings) this.log(line(finding))
    const open = report.findings.filter((f) => !f.fixed).length
    const fixed = report.findings.length - open
    const summary = [`${report.findings.length} finding(s)`, ...(fixed > 0 ? [`${fixed} fixed`] : []), ...(report.quarantine ? [`quarantined into ${report.quarantine}`] : [])]
    this.log(`\n${summary.join('; ')}.${open > 0 && !this.flags.fix ? ' Run `sess doctor --fix` to repair what is safe.' : ''}`)
  }
}

function line(finding: DoctorResult): string {
  const label = finding.fixed ? chalk.green('fixed') : finding.severity === 'error' ? chalk.red('error') : chalk.yellow('warning')
  const fix = finding.fixed || finding.fix === null ? '' : chalk.dim(` (fix: ${finding.fix})`)
  const path = finding.path !== null && !finding.message.includes(finding.path) ? chalk.dim(` [${finding.path}]`) : ''
  return `${label} ${chalk.bold(finding.kind)}: ${finding.message}${path}${fix}`
}
