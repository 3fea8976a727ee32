/**
 * The store directory's owner and modes (DESIGN §2, §7: the store is private to its user), checked
 * as OpenSSH checks `~/.ssh`: a store open to others is made private again with a warning, one
 * that belongs to another user is refused, and one that is read-only is refused with a clear
 * message, changing nothing.
 */
import {chmodSync, chownSync, mkdirSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, test} from 'vitest'
import {CORPUS, expectCleanError, sess as run, useTempDir, WITHOUT_PRIVILEGE} from '../helpers/cli.ts'
import {fingerprint, tree} from '../helpers/store-files.ts'

const SOURCE = join(CORPUS, 'codex', 'agent-history-session-01.jsonl')
const OTHER = join(CORPUS, 'codex', 'agent-history-compaction.jsonl')

describe('the store directory', () => {
  const dir = useTempDir('sess-store-modes-')

  test.each(['755', '770'])('with mode %s is made 0700 again, with a warning naming the old mode; the command goes on', (mode) => {
    const home = join(dir.path, `open-${mode}`)
    expect(run(home, ['save', SOURCE, '--name', 'chat']).code).toBe(0)
    chmodSync(home, Number.parseInt(mode, 8))
    const before = fingerprint(home).filter((line) => !line.startsWith('./'))
    const listed = run(home, ['list'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(/^\s+chat\s/m)
    expect(listed.stderr).toContain(`Warning: The store ${home} was open to other users (mode 0${mode}); it is now 0700.`)
    expect(statSync(home).mode & 0o777).toBe(0o700)
    expect(fingerprint(home).filter((line) => !line.startsWith('./'))).toEqual(before)
    expect(run(home, ['doctor']).code).toBe(0)
  })

  test('that belongs to another user is refused (exit 1) and nothing is written in it', () => {
    // As root, a directory handed to another uid; as anyone else, one that root owns.
    const home = process.getuid?.() === 0 ? join(dir.path, 'foreign') : '/'
    if (home !== '/') {
      mkdirSync(home, {mode: 0o700})
      chownSync(home, 65_534, 65_534)
    }
    const before = readdirSync(home)
    for (const args of [['list'], ['save', SOURCE]]) {
      const result = run(home, args)
      expectCleanError(result, 1, /belongs to another user \(uid \d+\), not to you \(uid \d+\)/)
      expect(result.stderr).toMatch(/^Hint: A store is private to its user/m)
    }
    expect(readdirSync(home)).toEqual(before)
  })

  test('that is read-only is refused (exit 1) by every command with a message saying so, and nothing changes', () => {
    const home = join(dir.path, 'read-only')
    expect(run(home, ['save', SOURCE, '--name', 'chat']).code).toBe(0)
    const before = fingerprint(home)
    const files = tree(home).map((path) => join(home, path))
    const lock = (write: boolean) => {
      for (const path of [home, ...files]) chmodSync(path, statSync(path).isDirectory() ? (write ? 0o700 : 0o500) : write ? 0o600 : 0o400)
    }
    lock(false)
    try {
      for (const args of [['list'], ['save', OTHER], ['restore', 'chat'], ['doctor', '--fix'], ['gc']]) {
        const result = run(home, args, {prefix: WITHOUT_PRIVILEGE})
        expectCleanError(result, 1, /The store .* is not writable: you may not write to it \(EACCES\)/)
        expect(result.stderr).toMatch(/^Hint: Make it writable again \(chmod u\+w /m)
      }
      // A writable directory with read-only files: refused too, naming the file.
      chmodSync(home, 0o700)
      expectCleanError(run(home, ['list'], {prefix: WITHOUT_PRIVILEGE}), 1, /Cannot open .*content\.lock for writing: EACCES/)
      chmodSync(home, 0o500)
    } finally {
      lock(true)
    }
    expect(fingerprint(home)).toEqual(before)
    expect(run(home, ['doctor']).code).toBe(0)
  })
})
