import type {DoctorReport, Store} from '../../../src/index.ts'
import {sessJson} from '../../../test/helpers/cli.ts'

/**
 * The doctor's part of the check after a kill: `store.doctor()` finds nothing but crash litter
 * (the kinds in `litter`); `doctor({fix: true})` repairs all it finds; the doctor after that (when
 * the fix found anything) finds nothing. With `cli`, the `sess doctor --json` command runs too, between the first two, and must
 * report the same kinds, with exit 1 when it finds anything and 0 when not.
 *
 * @param options.checksums have the first doctor read every blob and check its SHA-256 (else lengths only).
 * @returns the problems found, one line each.
 */
export async function doctorAfterKill(store: Store, litter: ReadonlySet<string>, options: {checksums: boolean; cli: boolean}): Promise<string[]> {
  const problems: string[] = []
  const report = await store.doctor({checksums: options.checksums})
  for (const finding of report.findings) {
    if (!litter.has(finding.kind)) problems.push(`doctor: ${finding.kind} is no crash litter: ${finding.message}`)
  }
  if (options.cli) {
    const {code, json} = sessJson<DoctorReport>(store.home, ['doctor'])
    const want = kinds(report)
    const got = kinds(json)
    if (got !== want || code !== (report.findings.length > 0 ? 1 : 0)) problems.push(`sess doctor: exit ${code} with [${got}], but the library found [${want}]`)
  }
  const fixed = await store.doctor({fix: true})
  if (!fixed.clean) problems.push(`doctor --fix left: ${fixed.findings.filter((f) => !f.fixed).map((f) => `${f.kind}: ${f.message}`).join('; ')}`)
  // A --fix that found nothing was itself a clean doctor.
  const after = fixed.findings.length === 0 ? fixed : await store.doctor()
  if (after.findings.length > 0) problems.push(`doctor after --fix: ${after.findings.map((f) => `${f.kind}: ${f.message}`).join('; ')}`)
  return problems
}

/** The distinct finding kinds of a report, sorted, as one string. */
function kinds(report: Pick<DoctorReport, 'findings'>): string {
  return [...new Set(report.findings.map((finding) => finding.kind))].sort().join(', ')
}
