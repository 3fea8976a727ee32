/**
 * A metadata database sess cannot trust (DESIGN §2: schema changes only through migrations; §7):
 * one from a newer sess is refused by every command and never written to, and a damaged one is
 * reported clearly (never as a bug in sess), with a way out that works: its saved originals,
 * which are files of their own, are saved into a new store.
 */
import {Database} from 'bun:sqlite'
import {closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync} from 'node:fs'
import {basename, join} from 'node:path'
import {beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../../plugins/persistence/src/commands/save.ts'
import {openStore} from '../../src/index.ts'
import {CORPUS, expectCleanError, sess as run, sessJson as runJson, useTempDir} from '../helpers/cli.ts'
import {sha256Hex} from '../helpers/crash-child.ts'
import {tree} from '../helpers/store-files.ts'

/** One file of each format, to save and get back. */
const ORIGINALS = [
  join(CORPUS, 'claude-code', 'agent-history-session-01.jsonl'),
  join(CORPUS, 'codex', 'agent-history-session-01.jsonl'),
  join(CORPUS, 'gemini-cli', 'agent-history-golden.json'),
  join(CORPUS, 'asciicast', 'player-simple.cast'),
]

interface DoctorJson {
  clean: boolean
  findings: {kind: string; message: string; fix: string | null}[]
}

/** The store's files by name, and the SHA-256 of the database file's bytes (not its rows: it may not open). */
function rawState(home: string): string[] {
  return [...tree(home), sha256Hex(readFileSync(join(home, 'sess.db')))]
}

/** Saves {@link ORIGINALS} into a new store at `home` (the command closes the database, so no WAL is left beside it). */
function storeWithOriginals(home: string): SaveReport['saved'] {
  const files = `${home}-originals`
  mkdirSync(files)
  for (const [index, path] of ORIGINALS.entries()) copyFileSync(path, join(files, `${index}-${basename(path)}`))
  const saved = runJson<SaveReport>(home, ['save', files])
  expect(saved.code, saved.stderr).toBe(0)
  expect(saved.json.saved).toHaveLength(ORIGINALS.length)
  expect(existsSync(join(home, 'sess.db-wal'))).toBe(false)
  return saved.json.saved
}

/** SHA-256 of the original of every session in the store at `home`, sorted. */
async function restoredDigests(home: string): Promise<string[]> {
  await using store = await openStore({home})
  const digests = await Promise.all((await store.list()).map(async (session) => sha256Hex((await store.restore(session.id)).bytes)))
  return digests.sort()
}

const ORIGINAL_DIGESTS = ORIGINALS.map((path) => sha256Hex(readFileSync(path))).sort()

describe('a database with a newer schema', () => {
  const dir = useTempDir('sess-newer-schema-')
  const home = join(dir.path, 'home')

  beforeAll(() => {
    storeWithOriginals(home)
    const db = new Database(join(home, 'sess.db'))
    db.run("insert into kysely_migration (name, timestamp) values ('2099-01-01T00-from-the-future', '2099-01-01T00:00:00.000Z')")
    db.close()
  })

  const commands = [['list'], ['save', ORIGINALS[0]!], ['migrate'], ['migrate', '--status'], ['doctor'], ['gc']]
  test.each(commands.map((args) => [args.join(' ').replace(CORPUS, 'CORPUS'), args] as const))(
    'sess %s refuses it (exit 1), naming the migration it does not know, and writes nothing',
    (_, args) => {
      const before = rawState(home)
      const result = run(home, args)
      expectCleanError(result, 1, /newer schema than this version of sess knows \(2099-01-01T00-from-the-future\)/)
      expect(result.stderr).toMatch(/^Hint: Upgrade sess to open this store; sess never downgrades a schema\.$/m)
      expect(rawState(home)).toEqual(before)
    },
  )

  test('--json gives the refusal as {error: {code: E_STORAGE, exitCode: 1, message, hint}}', () => {
    const result = runJson<{error: {code: string; exitCode: number; message: string; hint: string}}>(home, ['list'])
    expect(result.code).toBe(1)
    expect(result.json.error).toMatchObject({code: 'E_STORAGE', exitCode: 1, hint: expect.stringMatching(/never downgrades/), message: expect.stringMatching(/newer schema/)})
  })
})

describe('a damaged database', () => {
  const dir = useTempDir('sess-damaged-db-')
  const home = join(dir.path, 'home')
  let saved: SaveReport['saved']

  beforeAll(() => {
    saved = storeWithOriginals(home)
    // Garbage over the root page of the sessions table: every listing reads it; the migrations table, elsewhere, stays whole.
    const db = new Database(join(home, 'sess.db')) // not read-only: on close it checkpoints and removes the WAL it opened
    const {page_size: pageSize} = db.query('pragma page_size').get() as {page_size: number}
    const {rootpage} = db.query("select rootpage from sqlite_master where name = 'sessions'").get() as {rootpage: number}
    db.close()
    const fd = openSync(join(home, 'sess.db'), 'r+')
    writeSync(fd, new Uint8Array(pageSize).fill(0xa5), 0, pageSize, (rootpage - 1) * pageSize)
    closeSync(fd)
  })

  test('list fails (exit 1) saying the database is damaged, and the hint names the way out; nothing is written', () => {
    const before = rawState(home)
    const result = run(home, ['list'])
    expectCleanError(result, 1, /The store's database .*sess\.db is damaged: database disk image is malformed \(SQLITE_CORRUPT\)/)
    expect(result.stderr).toMatch(/^Hint: `sess doctor` reports the damage\. The saved originals are intact files in .*blobs: move the store aside and save them into a new one \(mv .* && sess save .*\)/m)
    expect(result.stderr).not.toMatch(/bug in sess/)
    expect(rawState(home)).toEqual(before)
  })

  test('doctor reports it as database-integrity (exit 1), alone, with the way out as its fix', () => {
    const result = runJson<DoctorJson>(home, ['doctor'])
    expect(result.code, result.stderr).toBe(1)
    expect(result.json.findings.map((f) => f.kind)).toEqual(['database-integrity'])
    expect(result.json.findings[0]!.message).toMatch(/fails its integrity check: .*The other checks need a sound database\./)
    expect(result.json.findings[0]!.fix).toMatch(/sess save .*\.damaged\/blobs/)
  })

  test('the way out works: the store moved aside, its blobs saved into a new store give back every original byte for byte', async () => {
    const damaged = `${home}.damaged`
    renameSync(home, damaged)
    const recovered = runJson<SaveReport>(home, ['save', join(damaged, 'blobs')])
    expect(recovered.code, recovered.stderr).toBe(0)
    expect(recovered.json.skipped).toEqual([])
    expect(await restoredDigests(home)).toEqual(ORIGINAL_DIGESTS)
    expect(recovered.json.saved.map((entry) => entry.format).sort()).toEqual(saved.map((entry) => entry.format).sort())
    expect(run(home, ['doctor']).code).toBe(0)
  })

  test('compressed blobs come back too: save decompresses what sess gc compressed', async () => {
    const other = join(dir.path, 'compressed')
    storeWithOriginals(other)
    const gc = runJson<{compressed: {blobs: number}}>(other, ['gc', '--compress-after', '0'])
    expect(gc.json.compressed.blobs).toBeGreaterThan(0)
    const recovered = runJson<SaveReport>(join(dir.path, 'recovered'), ['save', join(other, 'blobs')])
    expect(recovered.code, recovered.stderr).toBe(0)
    expect(await restoredDigests(join(dir.path, 'recovered'))).toEqual(ORIGINAL_DIGESTS)
  })
})

describe('a file that is not a database at all', () => {
  const dir = useTempDir('sess-not-db-')
  const home = join(dir.path, 'home')

  test('is refused (exit 1) as damaged, not a database, and left as it was', () => {
    storeWithOriginals(home)
    const fd = openSync(join(home, 'sess.db'), 'r+')
    writeSync(fd, new TextEncoder().encode('this is not an SQLite header at all'), 0, 32, 0)
    closeSync(fd)
    const before = rawState(home)
    expectCleanError(run(home, ['list']), 1, /is damaged: file is not a database \(SQLITE_NOTADB\)/)
    expect(rawState(home)).toEqual(before)
  })
})
