/**
 * Bad names and paths through the CLI (DESIGN §2, §7: names never become paths): Unicode and case
 * look-alikes, names shaped like session ids, names read from inside a file, and `restore --to`
 * paths that lead into the store. See test/bad-input.test.ts for the plain invalid names.
 */
import {copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../../plugins/persistence/src/commands/save.ts'
import type {Session} from '../../src/session/types.ts'
import {CORPUS, expectCleanError, sess as run, sessJson as runJson, useTempDir} from '../helpers/cli.ts'
import {fingerprint, tree} from '../helpers/store-files.ts'

const SOURCE = join(CORPUS, 'codex', 'agent-history-session-01.jsonl')
const OTHER = join(CORPUS, 'codex', 'agent-history-compaction.jsonl')

/** `café` with its `é` as one code point (NFC) and as `e` plus a combining acute accent (NFD). */
const CAFE_NFC = 'caf\u00e9'
const CAFE_NFD = 'cafe\u0301'

function names(home: string): string[] {
  const listed = runJson<Session[]>(home, ['list', '--limit', '0'])
  expect(listed.code, listed.stderr).toBe(0)
  return listed.json.map((session) => session.name).sort()
}

describe('Unicode and case look-alikes', () => {
  const dir = useTempDir('sess-lookalikes-')
  const home = join(dir.path, 'home')

  beforeAll(() => {
    expect(run(home, ['list']).code).toBe(0) // the store exists before the refused saves
  })

  test.each([
    ['NFC', CAFE_NFC, 'é', 'U+00E9'],
    ['NFD', CAFE_NFD, '\u0301', 'U+0301'],
  ])('--name café in %s is refused (exit 2), the message naming the character, and nothing is written', (_, name, character, codePoint) => {
    const before = tree(dir.path)
    const result = run(home, ['save', SOURCE, '--name', name])
    expectCleanError(result, 2, new RegExp(`${JSON.stringify(character)} \\(${codePoint.replace('+', '\\+')}\\) is not allowed`))
    expect(result.stderr).toMatch(/^Hint: .*ASCII/m)
    expect(tree(dir.path)).toEqual(before)
  })

  test('files named café in NFC and in NFD get two names that cannot be confused: cafe and cafe-2', () => {
    const files = join(dir.path, 'files')
    mkdirSync(files)
    copyFileSync(SOURCE, join(files, `${CAFE_NFC}.jsonl`))
    copyFileSync(OTHER, join(files, `${CAFE_NFD}.jsonl`))
    const saved = runJson<SaveReport>(home, ['save', files])
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.json.saved.map((entry) => entry.name).sort()).toEqual(['cafe', 'cafe-2'])
    for (const entry of saved.json.saved) {
      const restored = run(home, ['restore', entry.name])
      expect(Buffer.from(restored.bytes).equals(readFileSync(entry.path))).toBe(true)
    }
  })

  test('names that differ only in case are two sessions, each found by its exact name; a third casing is not found (exit 4)', () => {
    const caseHome = join(dir.path, 'case')
    expect(run(caseHome, ['save', SOURCE, '--name', 'Chat']).code).toBe(0)
    expect(run(caseHome, ['save', OTHER, '--name', 'chat']).code).toBe(0)
    expect(names(caseHome)).toEqual(['Chat', 'chat'])
    expect(Buffer.from(run(caseHome, ['restore', 'Chat']).bytes).equals(readFileSync(SOURCE))).toBe(true)
    expect(Buffer.from(run(caseHome, ['restore', 'chat']).bytes).equals(readFileSync(OTHER))).toBe(true)
    expectCleanError(run(caseHome, ['show', 'CHAT']), 4, /No session "CHAT"/)
  })
})

describe('names that are not names', () => {
  const dir = useTempDir('sess-odd-names-')
  const home = join(dir.path, 'home')

  beforeAll(() => {
    expect(run(home, ['save', SOURCE, '--name', 'first']).code).toBe(0)
  })

  test('a name shaped like a session id is refused (exit 2): commands would look it up as an id', () => {
    const before = fingerprint(home)
    expectCleanError(run(home, ['save', OTHER, '--name', '01ARZ3NDEKTSV4RRFFQ69G5FAV']), 2, /shape of a session id/)
    expectCleanError(run(home, ['rename', 'first', '01ARZ3NDEKTSV4RRFFQ69G5FAV']), 2, /shape of a session id/)
    expect(fingerprint(home)).toEqual(before)
  })

  test('an invalid --name is refused even for bytes already saved (which would save nothing)', () => {
    const before = fingerprint(home)
    expectCleanError(run(home, ['save', SOURCE, '--name', '../x']), 2, /Invalid session name "\.\.\/x"/)
    expect(fingerprint(home)).toEqual(before)
  })

  test('a name of 300 bytes (75 four-byte characters) is refused (exit 2), naming the first character not allowed', () => {
    const name = '\u{1F600}'.repeat(75)
    expect(Buffer.byteLength(name)).toBe(300)
    expectCleanError(run(home, ['save', OTHER, '--name', name]), 2, /"\u{1F600}" \(U\+1F600\) is not allowed/u)
    expect(names(home)).toEqual(['first'])
  })

  test('a path, a NUL byte and a control character in the name a sess file carries become a plain name; nothing is made outside the store', () => {
    const file = join(dir.path, 'carried.jsonl')
    const header = {sess: 1, session: {kind: 'chat', name: '../../e\u0000vil/\u001b[31m..'}}
    const record = {type: 'message', role: 'user', parts: [{type: 'text', text: 'hello'}]}
    writeFileSync(file, `${JSON.stringify(header)}\n${JSON.stringify(record)}\n`)
    const outside = tree(dir.path).filter((path) => !path.startsWith('home'))
    const saved = runJson<SaveReport>(home, ['save', file])
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.json.saved[0]!.name).toBe('e-vil-31m')
    expect(tree(dir.path).filter((path) => !path.startsWith('home'))).toEqual(outside)
  })
})

describe('restore --to into the store', () => {
  const dir = useTempDir('sess-to-store-')
  const home = join(dir.path, 'home')

  beforeAll(() => {
    expect(run(home, ['save', SOURCE, '--name', 'chat']).code).toBe(0)
  })

  test.each([
    ['the database, by a path that climbs out of blobs/', (home: string) => join(home, 'blobs', '..', 'sess.db')],
    ['a new file in the blob directory', (home: string) => join(home, 'blobs', 'new.jsonl')],
    ['the database, through a symlink to the store', (home: string) => join(home, '..', 'link-to-store', 'sess.db')],
  ])('--to %s is refused (exit 2) even with --force, and the store is unchanged', (_, to) => {
    const link = join(dir.path, 'link-to-store')
    if (!existsSync(link)) symlinkSync(home, link)
    const before = fingerprint(home)
    expectCleanError(run(home, ['restore', 'chat', '--to', to(home), '--force']), 2, /inside the store/)
    expect(fingerprint(home)).toEqual(before)
    expect(run(home, ['doctor']).code).toBe(0)
  })

})

describe('restore --to a relative path', () => {
  const dir = useTempDir('sess-to-relative-')
  const home = join(dir.path, 'home')

  test('one that climbs out of the working directory writes exactly there, and nothing else', () => {
    expect(run(home, ['save', SOURCE, '--name', 'chat']).code).toBe(0)
    const cwd = join(dir.path, 'a', 'b')
    mkdirSync(cwd, {recursive: true})
    const outside = () => tree(dir.path).filter((path) => !path.startsWith('home'))
    const before = outside()
    const result = run(home, ['restore', 'chat', '--to', '../../out.jsonl'], {cwd})
    expect(result.code, result.stderr).toBe(0)
    expect(Buffer.from(readFileSync(join(dir.path, 'out.jsonl'))).equals(readFileSync(SOURCE))).toBe(true)
    expect(outside()).toEqual([...before, 'out.jsonl'].sort())
  })
})
