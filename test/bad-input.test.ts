/**
 * Bad input through the real CLI and the library (DESIGN §2, §3, §7): names never become paths,
 * refused input writes nothing, existing files are not overwritten without --force, missing things
 * exit 4 with a hint, special files do not hang, symlinks in the store are never followed, and no
 * command ever prints a stack trace. The rest of the bad-input matrix is in test/bad-input/, a file
 * per concern.
 */
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../plugins/persistence/src/commands/save.ts'
import {InvalidInputError, openStore} from '../src/index.ts'
import type {Session} from '../src/session/types.ts'
import {CORPUS, expectCleanError, sess as run, sessJson as runJson, useTempDir} from './helpers/cli.ts'
import {tree} from './helpers/store-files.ts'

const SOURCE = join(CORPUS, 'codex', 'agent-history-session-01.jsonl')

describe('invalid session names', () => {
  const dir = useTempDir('sess-names-')
  let home: string
  let cwd: string

  beforeAll(() => {
    // The store two levels down, so that `../x` from the store, its blobs or the cwd lands in a
    // directory the test watches.
    home = join(dir.path, 'a', 'home')
    cwd = join(dir.path, 'a', 'cwd')
    mkdirSync(cwd, {recursive: true})
    // Open the store once so that its layout exists before the refused saves.
    expect(run(home, ['list']).code).toBe(0)
  })

  const BAD_NAMES: [string, string][] = [
    ['a parent path', '../x'],
    ['an absolute path', '/abs/path'],
    ['a path with a slash', 'a/b'],
    ['a newline', 'a\nb'],
    ['a control character', 'a\u0001b'],
    ['an escape sequence', 'a\u001b[31mred'],
    ['300 characters', 'n'.repeat(300)],
    ['a leading dot', '.hidden'],
    ['the empty string', ''],
    ['a lone dot-dot', '..'],
  ]

  test.each(BAD_NAMES)('save --name with %s exits 2 with a clear message and writes nothing', (_, name) => {
    const before = tree(dir.path)
    const result = run(home, ['save', SOURCE, '--name', name], {cwd})
    expectCleanError(result, 2, /name/i)
    expect(result.stdout).toBe('')
    expect(tree(dir.path)).toEqual(before)
    expect(existsSync(join(dir.path, 'x'))).toBe(false)
    expect(existsSync(join(dir.path, 'a', 'x'))).toBe(false)
    expect(existsSync('/abs/path')).toBe(false)
  })

  test('after all the refused saves the store is empty', () => {
    expect(runJson<Session[]>(home, ['list', '--limit', '0']).json).toEqual([])
    expect(tree(join(home, 'blobs'))).toEqual([])
  })

  test('--json gives the error as JSON with code E_INVALID_INPUT and exit code 2', () => {
    const result = runJson<{error: {code: string; exitCode: number; message: string; hint?: string}}>(home, ['save', SOURCE, '--name', '../x'])
    expect(result.code).toBe(2)
    expect(result.json.error).toMatchObject({code: 'E_INVALID_INPUT', exitCode: 2})
    expect(result.json.error.message).toContain('../x')
    expect(result.json.error.hint).toMatch(/\S/)
  })

  test('restore --fork with a bad name exits 2 and creates nothing', () => {
    expect(run(home, ['save', SOURCE, '--name', 'good']).code).toBe(0)
    const before = tree(home)
    expectCleanError(run(home, ['restore', 'good', '--fork', '../evil']), 2, /name/i)
    expect(tree(home).filter((path) => !/sess\.db/.test(path))).toEqual(before.filter((path) => !/sess\.db/.test(path)))
    expect(existsSync(join(dir.path, 'a', 'evil'))).toBe(false)
    expect(runJson<Session[]>(home, ['list', '--limit', '0']).json.map((s) => s.name)).toEqual(['good'])
  })

  test('a name that is taken is refused with exit 2, and leaves nothing behind in the store', () => {
    const blobs = readdirSync(join(home, 'blobs')).sort()
    const other = join(CORPUS, 'codex', 'agent-history-compaction.jsonl')
    expectCleanError(run(home, ['save', other, '--name', 'good']), 2, /already exists/)
    expectCleanError(run(home, ['restore', 'good', '--fork', 'good']), 2, /already exists/)
    expect(runJson<Session[]>(home, ['list', '--limit', '0']).json.map((s) => s.name)).toEqual(['good'])
    // Not even an empty blob directory for the session that was never created.
    expect(readdirSync(join(home, 'blobs')).sort()).toEqual(blobs)
  })
})

describe('invalid names through the library', () => {
  const dir = useTempDir('sess-names-lib-')

  test('create and save reject a NUL byte (and the other bad names) with InvalidInputError, writing nothing', async () => {
    const home = join(dir.path, 'home')
    await using store = await openStore({home})
    for (const name of ['a\0b', '\0', '../x', 'a/b', '', 'x'.repeat(65), '.hidden']) {
      await expect(store.create({name}), JSON.stringify(name)).rejects.toBeInstanceOf(InvalidInputError)
      await expect(store.save({bytes: readFileSync(SOURCE), name, path: SOURCE}), JSON.stringify(name)).rejects.toBeInstanceOf(InvalidInputError)
      await expect(store.fork('nothing', name), JSON.stringify(name)).rejects.toBeInstanceOf(Error)
    }
    expect(await store.list()).toEqual([])
    expect(tree(join(home, 'blobs'))).toEqual([])
    // The limit is exactly 64.
    expect((await store.create({name: 'x'.repeat(64)})).name).toHaveLength(64)
  })

  test('a home path with a NUL byte is refused', async () => {
    await expect(openStore({home: join(dir.path, 'bad\0home')})).rejects.toBeInstanceOf(InvalidInputError)
  })
})

describe('restore --to an existing file', () => {
  const dir = useTempDir('sess-overwrite-')
  const home = join(dir.path, 'home')

  beforeAll(() => {
    expect(run(home, ['save', SOURCE, '--name', 'chat']).code).toBe(0)
  })

  test('without --force exits 2 and leaves the file untouched', () => {
    const target = join(dir.path, 'existing.jsonl')
    writeFileSync(target, 'precious\n')
    const result = run(home, ['restore', 'chat', '--to', target])
    expectCleanError(result, 2, /exists/)
    expect(result.stderr).toMatch(/--force/)
    expect(readFileSync(target, 'utf8')).toBe('precious\n')
    expect(readdirSync(dir.path).filter((name) => name.includes('.tmp-'))).toEqual([])
  })

  test('with --force the file is replaced by the original', () => {
    const target = join(dir.path, 'replaced.jsonl')
    writeFileSync(target, 'old\n')
    const result = run(home, ['restore', 'chat', '--to', target, '--force'])
    expect(result.code, result.stderr).toBe(0)
    expect(Buffer.from(readFileSync(target)).equals(readFileSync(SOURCE))).toBe(true)
  })

  test('--force on a symlink replaces the link, never the file it points to', () => {
    const outside = join(dir.path, 'outside.txt')
    writeFileSync(outside, 'outside\n')
    const link = join(dir.path, 'link.jsonl')
    symlinkSync(outside, link)
    expectCleanError(run(home, ['restore', 'chat', '--to', link]), 2, /exists/)
    expect(run(home, ['restore', 'chat', '--to', link, '--force']).code).toBe(0)
    expect(readFileSync(outside, 'utf8')).toBe('outside\n')
    expect(Buffer.from(readFileSync(link)).equals(readFileSync(SOURCE))).toBe(true)
  })

  test('--to in a directory that does not exist fails cleanly', () => {
    const result = run(home, ['restore', 'chat', '--to', join(dir.path, 'no', 'such', 'dir', 'out.jsonl')])
    expect(result.code).not.toBe(0)
    expectCleanError(result, result.code)
  })
})

describe('things that are not there', () => {
  const dir = useTempDir('sess-missing-')
  const home = join(dir.path, 'home')

  test.each([
    ['restore', ['restore', 'no-such-session']],
    ['restore --to', ['restore', 'no-such-session', '--to', 'out.jsonl']],
    ['show', ['show', 'no-such-session']],
    ['rm', ['rm', 'no-such-session']],
    ['restore --fork', ['restore', 'no-such-session', '--fork', 'copy']],
    ['restore --from-trash', ['restore', 'no-such-session', '--from-trash']],
    ['an unknown id', ['show', '01ARZ3NDEKTSV4RRFFQ69G5FAV']],
  ])('%s of a session that does not exist exits 4 with a hint', (_, args) => {
    const result = run(home, args)
    expectCleanError(result, 4, /no-such-session|01ARZ3NDEKTSV4RRFFQ69G5FAV/)
    expect(result.stderr).toMatch(/^Hint: .*sess list/m)
  })

  test('saving a file that does not exist exits 4', () => {
    expectCleanError(run(home, ['save', join(dir.path, 'nope.jsonl')]), 4, /nope\.jsonl/)
  })

  test('restore --version of a version that does not exist exits 4', () => {
    expect(run(home, ['save', SOURCE, '--name', 'one']).code).toBe(0)
    expectCleanError(run(home, ['restore', 'one', '--version', '7']), 4, /version 7/)
  })
})

describe('special files', () => {
  const dir = useTempDir('sess-special-')
  const home = join(dir.path, 'home')

  test('a FIFO given to save exits 2 at once instead of waiting for a writer', () => {
    const fifo = join(dir.path, 'pipe.jsonl')
    expect(Bun.spawnSync(['mkfifo', fifo]).exitCode).toBe(0)
    const started = performance.now()
    const result = run(home, ['save', fifo])
    expect(performance.now() - started).toBeLessThan(10_000)
    expectCleanError(result, 2, /FIFO|not a regular file/)
  })

  test('a FIFO and a symlink inside a directory are skipped with reasons; the session beside them is saved', () => {
    const tree = join(dir.path, 'tree')
    mkdirSync(tree)
    expect(Bun.spawnSync(['mkfifo', join(tree, 'pipe.jsonl')]).exitCode).toBe(0)
    const outside = join(dir.path, 'outside.jsonl')
    cpSync(join(CORPUS, 'codex', 'agent-history-compaction.jsonl'), outside)
    symlinkSync(outside, join(tree, 'link.jsonl'))
    cpSync(SOURCE, join(tree, 'real.jsonl'))
    const started = performance.now()
    const result = runJson<SaveReport>(home, ['save', tree])
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(result.code, result.stderr).toBe(0)
    expect(result.json.saved.map((s) => s.path)).toEqual([join(tree, 'real.jsonl')])
    const skipped = Object.fromEntries(result.json.skipped.map((s) => [s.path, s.reason]))
    expect(skipped[join(tree, 'pipe.jsonl')]).toMatch(/regular file/)
    expect(skipped[join(tree, 'link.jsonl')]).toMatch(/symlink/)
  })
})

describe('symlinks planted in the store', () => {
  const dir = useTempDir('sess-symlinks-')
  const home = join(dir.path, 'home')
  let session: {sessionId: string; name: string}

  beforeAll(() => {
    const saved = runJson<SaveReport>(home, ['save', SOURCE, '--name', 'victim'])
    expect(saved.code, saved.stderr).toBe(0)
    session = saved.json.saved[0]!
  })

  /** The session's blob directory and its one blob file. */
  function blobPaths(): {directory: string; blob: string} {
    const directory = join(home, 'blobs', session.sessionId)
    const [blob] = readdirSync(directory)
    return {blob: blob!, directory}
  }

  test('a blob file replaced by a symlink to a file outside: restore fails clearly, the outside file is unchanged', () => {
    const {blob, directory} = blobPaths()
    const outside = join(dir.path, 'outside-file')
    writeFileSync(outside, readFileSync(join(directory, blob))) // the very bytes, so only the link gives it away
    const saved = join(dir.path, 'saved-blob')
    renameSync(join(directory, blob), saved)
    symlinkSync(outside, join(directory, blob))
    try {
      const result = run(home, ['restore', 'victim', '--to', join(dir.path, 'out-1.jsonl')])
      expect(result.code).not.toBe(0)
      expectCleanError(result, result.code, /symlink|symbolic link/i)
      expect(existsSync(join(dir.path, 'out-1.jsonl'))).toBe(false)
      expect(Buffer.from(readFileSync(outside)).equals(readFileSync(SOURCE))).toBe(true)
    } finally {
      rmSync(join(directory, blob))
      renameSync(saved, join(directory, blob))
    }
    expect(run(home, ['restore', 'victim', '--to', join(dir.path, 'out-ok.jsonl')]).code).toBe(0)
  })

  test('the blob directory replaced by a symlink to a directory outside: restore refuses to follow it', () => {
    const {blob, directory} = blobPaths()
    const outside = join(dir.path, 'outside-dir')
    mkdirSync(outside)
    // A faithful copy outside: only the symlink tells it apart, so a reader that follows it succeeds.
    writeFileSync(join(outside, blob), readFileSync(join(directory, blob)))
    const moved = join(dir.path, 'moved-blobs')
    renameSync(directory, moved)
    symlinkSync(outside, directory)
    try {
      const result = run(home, ['restore', 'victim', '--to', join(dir.path, 'out-2.jsonl')])
      expect(result.code, 'restore read the session through a symlink in the store').not.toBe(0)
      expectCleanError(result, result.code, /symlink/i)
      expect(existsSync(join(dir.path, 'out-2.jsonl'))).toBe(false)
      expect(readdirSync(outside)).toEqual([blob])
    } finally {
      rmSync(directory)
      renameSync(moved, directory)
    }
  })

  test('rm --purge of a session whose blob directory is a symlink never deletes what it points to', () => {
    const saved = runJson<SaveReport>(home, ['save', join(CORPUS, 'codex', 'agent-history-compaction.jsonl'), '--name', 'purge-me'])
    const id = saved.json.saved[0]!.sessionId
    const directory = join(home, 'blobs', id)
    const outside = join(dir.path, 'outside-purge')
    mkdirSync(outside)
    writeFileSync(join(outside, 'keep.txt'), 'keep me\n')
    rmSync(directory, {recursive: true})
    symlinkSync(outside, directory)
    const result = run(home, ['rm', 'purge-me', '--purge'])
    expect(result.stderr).not.toMatch(/^\s{4}at /m)
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep me\n')
  })

  test('a store home that is a symlink is refused with exit 1 and a clear message', () => {
    const real = join(dir.path, 'real-store')
    mkdirSync(real, {mode: 0o700})
    const link = join(dir.path, 'linked', 'home')
    mkdirSync(dirname(link))
    symlinkSync(real, link)
    for (const args of [['list'], ['save', SOURCE]]) {
      const result = run(link, args)
      expectCleanError(result, 1, /symlink/)
    }
    expect(readdirSync(real)).toEqual([])
  })

  test('a symlink planted as the database is refused with exit 1, and what it points to is never created', () => {
    const home = join(dir.path, 'planted-db')
    mkdirSync(home, {mode: 0o700})
    const target = join(dir.path, 'planted-target.db')
    symlinkSync(target, join(home, 'sess.db'))
    expectCleanError(run(home, ['list']), 1, /symlink stands in place of the database/)
    expect(existsSync(target)).toBe(false)
  })
})
