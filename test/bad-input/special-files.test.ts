/**
 * Special files given as input or output (DESIGN §3): a device or a FIFO named on the command line,
 * or on stdin, never hangs sess nor makes it read without end: a stream is read no further than
 * `save.maxBytes`. `restore --to` never replaces anything but a regular file. See
 * test/bad-input.test.ts for a FIFO named on the command line and inside a directory.
 */
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, test} from 'vitest'
import {CORPUS, expectCleanError, REPO, sess as run, sessJson as runJson, useTempDir} from '../helpers/cli.ts'
import {tree} from '../helpers/store-files.ts'

const PEAK_RSS = fileURLToPath(new URL('../helpers/peak-rss.ts', import.meta.url))
const RUN = join(REPO, 'bin', 'run.ts')
const SOURCE = join(CORPUS, 'codex', 'agent-history-session-01.jsonl')

describe('a device as input', () => {
  const dir = useTempDir('sess-devices-')
  const home = join(dir.path, 'home')

  test.each(['/dev/zero', '/dev/urandom'])('%s named on the command line is refused at once (exit 2): not a regular file', (device) => {
    const result = run(home, ['save', device])
    expectCleanError(result, 2, new RegExp(`${device} is not a regular file or directory \\(a FIFO, socket or device\\)`))
    expect(result.stderr).toMatch(/^Hint: To save a stream, pipe it to `sess save -`\.$/m)
  })

  test.each(['/dev/zero', '/dev/urandom'])('%s on stdin is read no further than save.maxBytes (64 MiB): refused (exit 1), in bounded memory, nothing saved', (device) => {
    const rss = join(dir.path, `rss-${device.split('/').pop()}`)
    const fd = openSync(device, 'r')
    try {
      const result = Bun.spawnSync([process.execPath, PEAK_RSS, rss, process.execPath, RUN, 'save', '-'], {env: {...process.env, NO_COLOR: '1', SESS_HOME: home}, stdin: fd})
      expect(result.exitCode).toBe(1)
      expect(result.stderr.toString()).toMatch(/^Error: stdin is larger than 64 MiB, the most sess save reads \(save\.maxBytes\); nothing was saved\.\nHint: If it is a session, raise the limit: sess config set save\.maxBytes/m)
    } finally {
      closeSync(fd)
    }
    expect(Number(readFileSync(rss, 'utf8'))).toBeLessThan(256 * 1024 ** 2)
    expect(runJson<unknown[]>(home, ['list']).json).toEqual([])
  })
})

describe('a FIFO on stdin', () => {
  const dir = useTempDir('sess-fifo-stdin-')
  const home = join(dir.path, 'home')

  test('whose writer never stops is read no further than save.maxBytes: refused (exit 1); a small limit stops it sooner', () => {
    expect(run(home, ['config', 'set', 'save.maxBytes', '1MiB']).code).toBe(0)
    const fifo = join(dir.path, 'endless')
    expect(Bun.spawnSync(['mkfifo', fifo]).exitCode).toBe(0)
    // `yes` writes into the FIFO until sess, its only reader, closes it (then SIGPIPE ends it).
    const result = Bun.spawnSync(['sh', '-c', 'yes > "$1" & exec "$2" "$3" save - < "$1"', 'sh', fifo, process.execPath, RUN], {
      env: {...process.env, NO_COLOR: '1', SESS_HOME: home},
    })
    expect(result.exitCode).toBe(1)
    expect(result.stderr.toString()).toMatch(/^Error: stdin is larger than 1\.0 MiB, the most sess save reads \(save\.maxBytes\)/m)
    expect(runJson<unknown[]>(home, ['list']).json).toEqual([])
  })
})

describe('restore --to something that is not a regular file', () => {
  const dir = useTempDir('sess-special-to-')
  const home = join(dir.path, 'home')

  test.each([
    ['a FIFO', 'fifo', 'a FIFO', true],
    ['a directory', 'directory', 'a directory', true],
    ['/dev/null', '/dev/null', 'a device', false],
  ] as const)('%s is refused (exit 2) and left as it was', (_, name, what, force) => {
    if (!existsSync(join(home, 'sess.db'))) expect(run(home, ['save', SOURCE, '--name', 'chat']).code).toBe(0)
    const target = name.startsWith('/') ? name : join(dir.path, name)
    if (name === 'fifo' && !existsSync(target)) expect(Bun.spawnSync(['mkfifo', target]).exitCode).toBe(0)
    if (name === 'directory') mkdirSync(target, {recursive: true})
    const before = statSync(target)
    const result = run(home, ['restore', 'chat', '--to', target, ...(force ? ['--force'] : [])])
    expectCleanError(result, 2, new RegExp(`${target} is ${what}, not a regular file`))
    expect(result.stderr).toMatch(/^Hint: To write into it, restore to stdout and redirect/m)
    const after = statSync(target)
    expect([after.ino, after.mode, after.rdev]).toEqual([before.ino, before.mode, before.rdev])
    expect(tree(dir.path).filter((path) => path.includes('.tmp-'))).toEqual([])
  })
})
