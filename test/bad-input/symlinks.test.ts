/**
 * Symlinks planted in the store (DESIGN §7: symlinks in the store are never followed): in place of
 * the name a writer is about to use for its temp file, of the database's WAL, of the quarantine,
 * and of a trashed session's content. None is ever followed: what it points to is left as it was,
 * the command says what stands where, and `sess doctor --fix` clears the link. See
 * test/bad-input.test.ts for a symlinked home, blob file, blob directory and database.
 */
import {randomBytes} from 'node:crypto'
import {existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, test, vi} from 'vitest'
import type {SaveReport} from '../../plugins/persistence/src/commands/save.ts'
import {openStore} from '../../src/index.ts'
import {CORPUS, expectCleanError, sess as run, sessJson as runJson, useTempDir} from '../helpers/cli.ts'
import {sha256Hex} from '../helpers/crash-child.ts'
import {tempFiles, tree} from '../helpers/store-files.ts'

// The temp name of an atomic write is 6 random bytes; this lets a test draw it (every other call is the real one).
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>()
  return {...actual, randomBytes: vi.fn(actual.randomBytes)}
})

const SOURCE = join(CORPUS, 'codex', 'agent-history-session-01.jsonl')
const OTHER = join(CORPUS, 'codex', 'agent-history-compaction.jsonl')

interface DoctorJson {
  clean: boolean
  findings: {kind: string; path: string | null; fixed: boolean}[]
}

describe('a symlink in place of the temp file a writer is about to create', () => {
  const dir = useTempDir('sess-temp-link-')

  test('is passed over for another name: the write succeeds, neither the link nor what it points to changes, and doctor --fix clears the link', async () => {
    const home = join(dir.path, 'home')
    const victim = join(dir.path, 'victim')
    writeFileSync(victim, 'precious\n')
    // config.json is written atomically; its temp file is `.config.json.tmp-<6 random bytes in hex>`, drawn here.
    const drawn = Buffer.from('0123456789ab', 'hex')
    const planted = join(home, `.config.json.tmp-${drawn.toString('hex')}`)
    {
      await using store = await openStore({home})
      symlinkSync(victim, planted)
      const real = vi.mocked(randomBytes).getMockImplementation() as (size: number) => Buffer
      let drawnNames = 0
      vi.mocked(randomBytes).mockImplementation(((size: number) => (size === 6 && ++drawnNames === 1 ? drawn : real(size))) as never)
      try {
        expect(await store.setConfig('gc.maxAge', '30d')).toEqual({'gc.maxAge': '30d'})
      } finally {
        vi.mocked(randomBytes).mockImplementation(real as never)
      }
      expect(drawnNames).toBe(2) // the planted name, then another
      expect(store.config()).toEqual({'gc.maxAge': '30d'})
    }
    expect(lstatSync(planted).isSymbolicLink()).toBe(true)
    expect(readFileSync(victim, 'utf8')).toBe('precious\n')
    expect(lstatSync(join(home, 'config.json')).mode & 0o777).toBe(0o600)
    const doctor = runJson<DoctorJson>(home, ['doctor', '--fix'])
    expect(doctor.json.findings.map((f) => [f.kind, f.path, f.fixed])).toEqual([['symlink', planted, true]])
    expect(run(home, ['doctor']).code).toBe(0)
    expect(readFileSync(victim, 'utf8')).toBe('precious\n')
    expect(tempFiles(home).filter((path) => !path.startsWith('quarantine/'))).toEqual([])
  })
})

describe("a symlink in place of the database's WAL", () => {
  const dir = useTempDir('sess-wal-link-')
  const home = join(dir.path, 'home')

  test('every command refuses the store (exit 1) naming the link; what it points to is never created nor written', () => {
    expect(run(home, ['save', SOURCE, '--name', 'chat']).code).toBe(0)
    const target = join(dir.path, 'wal-target')
    symlinkSync(target, join(home, 'sess.db-wal'))
    const state = () => [...tree(home), sha256Hex(readFileSync(join(home, 'sess.db')))]
    const before = state()
    for (const args of [['list'], ['save', OTHER], ['restore', 'chat'], ['doctor']]) {
      expectCleanError(run(home, args), 1, /sess\.db-wal is a symbolic link/)
    }
    expect(existsSync(target)).toBe(false)
    expect(state()).toEqual(before)
  })
})

describe('a symlink in place of the quarantine', () => {
  const dir = useTempDir('sess-quarantine-link-')
  const home = join(dir.path, 'home')
  const outside = join(dir.path, 'outside')
  /** A blob directory no row names: gc moves it into the quarantine. */
  const orphan = () => join(home, 'blobs', '01ARZ3NDEKTSV4RRFFQ69G5FAV')

  beforeAll(() => {
    expect(run(home, ['save', SOURCE, '--name', 'chat']).code).toBe(0)
    mkdirSync(outside)
    writeFileSync(join(outside, 'keep.txt'), 'keep me\n')
    symlinkSync(outside, join(home, 'quarantine'))
    mkdirSync(orphan(), {mode: 0o700})
    writeFileSync(join(orphan(), '01ARZ3NDEKTSV4RRFFQ69G5FAW'), 'orphan\n', {mode: 0o600})
  })

  test('gc refuses to move anything through it (exit 1): the orphan stays in the store, nothing lands outside', () => {
    const result = run(home, ['gc', '--compress-after', 'off'])
    expectCleanError(result, 1, /quarantine is not a directory \(a symlink or file stands in its place\)/)
    expect(result.stderr).toMatch(/^Hint: `sess doctor --fix` removes a symlink there/m)
    expect(tree(outside)).toEqual(['keep.txt'])
    expect(readFileSync(join(orphan(), '01ARZ3NDEKTSV4RRFFQ69G5FAW'), 'utf8')).toBe('orphan\n')
  })

  test('doctor --fix removes the link (only the link), quarantines the orphan inside the store, and the store is clean', () => {
    const fixed = runJson<DoctorJson>(home, ['doctor', '--fix'])
    expect(fixed.code, JSON.stringify(fixed.json)).toBe(0)
    expect(fixed.json.findings.map((f) => [f.kind, f.path, f.fixed]).sort()).toEqual([
      ['orphan-content', orphan(), true],
      ['symlink', join(home, 'quarantine'), true],
    ])
    expect(tree(outside)).toEqual(['keep.txt'])
    expect(lstatSync(join(home, 'quarantine')).isDirectory()).toBe(true)
    expect(tree(join(home, 'quarantine')).filter((path) => path.endsWith('01ARZ3NDEKTSV4RRFFQ69G5FAW'))).toHaveLength(1)
    expect(run(home, ['doctor']).code).toBe(0)
  })
})

describe("a symlink in place of a trashed session's content", () => {
  const dir = useTempDir('sess-trash-link-')
  const home = join(dir.path, 'home')

  test('gc keeps it in the trash, says why, and never touches what the link points to; once doctor --fix quarantines the link, gc purges it', () => {
    const saved = runJson<SaveReport>(home, ['save', SOURCE, '--name', 'trashed'])
    expect(saved.code, saved.stderr).toBe(0)
    expect(run(home, ['rm', 'trashed']).code).toBe(0)
    const content = join(home, 'blobs', saved.json.saved[0]!.sessionId)
    const outside = join(dir.path, 'outside')
    mkdirSync(outside)
    writeFileSync(join(outside, 'keep.txt'), 'keep me\n')
    rmSync(content, {recursive: true})
    symlinkSync(outside, content)
    const gc = runJson<{items: {action: string; name: string | null}[]; skipped: {item: {name: string | null}; reason: string}[]}>(home, ['gc', '--trash-grace', '0', '--compress-after', 'off'])
    expect(gc.code, gc.stderr).toBe(0)
    expect(gc.json.skipped.map((s) => [s.item.name, s.reason])).toEqual([['trashed', expect.stringMatching(/is not a directory \(a symlink or file stands in its place; see sess doctor\)/)]])
    expect(tree(outside)).toEqual(['keep.txt'])
    const fixed = runJson<DoctorJson>(home, ['doctor', '--fix'])
    expect(fixed.json.findings.map((f) => [f.kind, f.path, f.fixed])).toContainEqual(['symlink', content, true])
    expect(tree(outside)).toEqual(['keep.txt'])
    const purge = runJson<{items: {action: string; name: string | null}[]}>(home, ['gc', '--trash-grace', '0', '--compress-after', 'off'])
    expect(purge.json.items.filter((item) => item.name === 'trashed').map((item) => item.action)).toEqual(['purge'])
    expect(runJson<unknown[]>(home, ['list', '--trash', '--limit', '0']).json).toEqual([])
    expect(tree(outside)).toEqual(['keep.txt'])
  })
})
