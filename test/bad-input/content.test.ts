/**
 * Saved content damaged on disk (DESIGN §7): a blob cut short, emptied, or overwritten with garbage
 * of the same length. Restore refuses it (exit 1) rather than give back wrong bytes, names the
 * damage and the way out (another version; doctor), writes no file; the other versions and
 * sessions stay readable; doctor names each kind, and `--fix` leaves a clean store.
 */
import {readdirSync, readFileSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../../plugins/persistence/src/commands/save.ts'
import {CORPUS, expectCleanError, sess as run, sessJson as runJson, useTempDir} from '../helpers/cli.ts'
import {tempFiles, tree} from '../helpers/store-files.ts'

const FIRST = join(CORPUS, 'claude-code', 'agent-history-session-01.jsonl')
const SECOND = join(CORPUS, 'claude-code', 'agent-history-compaction.jsonl')

interface DoctorJson {
  clean: boolean
  findings: {kind: string; sessionId: string | null; path: string | null; fixed: boolean}[]
}

/** Each damage: what it does to a blob file of `length` bytes, and the doctor finding it gives. */
const DAMAGE = [
  {kind: 'length-mismatch', name: 'truncated', spoil: (path: string, length: number) => truncateSync(path, Math.floor(length / 2))},
  {kind: 'length-mismatch', name: 'zero-length', spoil: (path: string) => truncateSync(path, 0)},
  {kind: 'checksum-mismatch', name: 'garbage', spoil: (path: string, length: number) => writeFileSync(path, new Uint8Array(length).fill(0x5a))},
] as const

describe('damaged content files', () => {
  const dir = useTempDir('sess-damaged-blobs-')
  const home = join(dir.path, 'home')
  /** Session id and the damaged (second) version's blob path, by case name. */
  const sessions = new Map<string, {id: string; blob: string}>()

  /** The first version of each case's session: distinct bytes (blank lines added), since saving the same bytes again saves nothing. */
  const first = (name: string) => Buffer.concat([readFileSync(FIRST), Buffer.from('\n'.repeat(1 + DAMAGE.findIndex((damage) => damage.name === name)))])

  beforeAll(() => {
    for (const {name, spoil} of DAMAGE) {
      writeFileSync(join(dir.path, `${name}-v1.jsonl`), first(name))
      const saved = runJson<SaveReport>(home, ['save', join(dir.path, `${name}-v1.jsonl`), '--name', name])
      expect(saved.code, saved.stderr).toBe(0)
      const id = saved.json.saved[0]!.sessionId
      const before = new Set(readdirSync(join(home, 'blobs', id)))
      expect(run(home, ['save', SECOND, '--session', name]).code).toBe(0)
      const [second] = readdirSync(join(home, 'blobs', id)).filter((blob) => !before.has(blob))
      const blob = join(home, 'blobs', id, second!)
      spoil(blob, readFileSync(blob).length)
      sessions.set(name, {blob, id})
    }
    expect(run(home, ['save', join(CORPUS, 'codex', 'agent-history-session-01.jsonl'), '--name', 'intact']).code).toBe(0)
  })

  test.each(DAMAGE.map((damage) => [damage.name, damage] as const))('%s: restore exits 1 naming the damage and the way out, writes no file; --version 1 still restores', (name) => {
    const out = join(dir.path, `${name}-restored.jsonl`)
    const result = run(home, ['restore', name, '--to', out])
    expectCleanError(result, 1, new RegExp(`Content of ${sessions.get(name)!.blob} is damaged: SHA-256 [0-9a-f]{64} \\(\\d+ bytes\\), expected [0-9a-f]{64} \\(\\d+ bytes\\)`))
    expect(result.stderr).toMatch(/^Hint: The stored copy no longer matches what was saved: `sess doctor` reports it .* Restore another version \(--version\)/m)
    expect(tree(dir.path).filter((path) => path.startsWith(`${name}-restored`))).toEqual([])
    expect(tempFiles(dir.path)).toEqual([])
    const older = run(home, ['restore', name, '--version', '1'])
    expect(Buffer.from(older.bytes).equals(first(name))).toBe(true)
  })

  test('doctor names each damaged blob with its kind (exit 1); the intact session restores; --fix quarantines them and the store is clean', () => {
    const found = runJson<DoctorJson>(home, ['doctor'])
    expect(found.code).toBe(1)
    const expected = DAMAGE.map(({kind, name}) => [kind, sessions.get(name)!.id, sessions.get(name)!.blob])
    expect(found.json.findings.map((f) => [f.kind, f.sessionId, f.path]).sort()).toEqual(expected.sort())
    expect(Buffer.from(run(home, ['restore', 'intact']).bytes).equals(readFileSync(join(CORPUS, 'codex', 'agent-history-session-01.jsonl')))).toBe(true)
    const fixed = runJson<DoctorJson>(home, ['doctor', '--fix'])
    expect(fixed.json.clean).toBe(true)
    expect(run(home, ['doctor']).code).toBe(0)
    // What was whole is still there: version 1 of each, now its latest.
    for (const {name} of DAMAGE) expect(Buffer.from(run(home, ['restore', name]).bytes).equals(first(name))).toBe(true)
  })
})
