/**
 * The replay plugin end to end: `sess record` of real programs in a pseudo-terminal (the test is
 * the user's terminal) and through pipes, `sess replay` (bytes, timing, --follow), the bounded
 * buffer under 100 MiB of output, and asciicast interop with asciinema itself.
 */
import {closeSync, openSync, readdirSync, readFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, test} from 'vitest'
import {asciicastFormat} from '../plugins/persistence/src/formats/asciicast.ts'
import {openStore} from '../src/index.ts'
import {CORPUS, REPO, sess, sessJson, useTempDir} from './helpers/cli.ts'
import {inTerminal, sessInTerminal} from './helpers/terminal.ts'

const tmp = useTempDir('sess-replay-test-')

/** The bytes `sess replay NAME --no-wait` writes. */
function replayed(home: string, name: string): Buffer {
  const result = sess(home, ['replay', name, '--no-wait'])
  expect(result.code, result.stderr).toBe(0)
  return Buffer.from(result.bytes)
}

describe('sess record in a pseudo-terminal', () => {
  const home = join(tmp.path, 'pty')

  test('colours and cursor moves pass through unchanged, and replay reproduces the exact bytes', async () => {
    const script = String.raw`printf '\033[2J\033[H\033[1;31mred\033[0m \033[38;5;208morange\033[0m\n\033[5;10Hmoved\033[2A\033[Kup\033[?25l\033[?25h é✓\n'`
    const run = sessInTerminal(home, ['record', '--quiet', '--name', 'colours', '--', 'sh', '-c', script])
    expect(await run.exited).toBe(0)
    const seen = Buffer.from(run.output())
    expect(seen.toString()).toContain('\u001b[1;31mred\u001b[0m \u001b[38;5;208morange\u001b[0m\r\n\u001b[5;10Hmoved')
    expect(replayed(home, 'colours')).toEqual(seen)
    const {json} = sessJson<{session: {status: string; kind: string}}>(home, ['show', 'colours'])
    expect(json.session).toMatchObject({kind: 'terminal', status: 'completed'})
  })

  test('a program reads what is typed, sees window resizes (recorded as r events), and its exit code comes back', async () => {
    const script = 'stty size; printf "name? "; read name; echo "hello $name"; trap "stty size; exit 7" WINCH; echo waiting; while :; do sleep 0.02; done'
    const run = sessInTerminal(home, ['record', '--quiet', '--name', 'interactive', '--', 'sh', '-c', script], {cols: 90, rows: 20})
    await run.waitFor('name? ')
    run.type('Ada\r')
    await run.waitFor('waiting')
    run.resize(120, 40)
    expect(await run.exited).toBe(7)
    const seen = Buffer.from(run.output())
    expect(seen.toString()).toBe('20 90\r\nname? Ada\r\nhello Ada\r\nwaiting\r\n40 120\r\n')
    expect(replayed(home, 'interactive')).toEqual(seen)
    await using store = await openStore({home})
    const events = []
    for await (const event of store.output('interactive')) events.push(event)
    expect(events.filter((e) => e.code === 'r').map((e) => e.data)).toEqual(['120x40'])
    expect(events.at(-1)).toMatchObject({code: 'x', data: '7'})
    const times = events.map((e) => e.time)
    expect(times).toEqual([...times].sort((a, b) => a - b))
  })

  test('a program killed by a signal: exit 128 + signal, status terminated, output kept', async () => {
    const run = sessInTerminal(home, ['record', '--quiet', '--name', 'killed', '--', 'sh', '-c', 'echo "about to die"; kill -KILL $$'])
    expect(await run.exited).toBe(137)
    expect(replayed(home, 'killed').toString()).toBe('about to die\r\n')
    expect(sessJson<{session: {status: string}}>(home, ['show', 'killed']).json.session.status).toBe('terminated')
  })
})

describe('sess record without a terminal', () => {
  const home = join(tmp.path, 'pipes')

  test('records stdout and stderr as separate streams and passes both through', () => {
    // Two pipes have no order between them: the pause lets stdout's line arrive first.
    const result = sess(home, ['record', '--quiet', '--name', 'piped', '--', 'sh', '-c', 'echo out; sleep 0.2; echo err >&2; exit 3'])
    expect([result.code, result.stdout, result.stderr]).toEqual([3, 'out\n', 'err\n'])
    expect(replayed(home, 'piped').toString()).toBe('out\nerr\n')
    expect(sess(home, ['restore', 'piped', '--format', 'output']).stdout).toBe('out\nerr\n')
  })

  test('a reader that goes away: the command gets its SIGPIPE, and a replay ends quietly', () => {
    const cli = `${process.execPath} ${join(REPO, 'bin', 'run.ts')}`
    const shell = (script: string) => Bun.spawnSync(['bash', '-c', script], {env: {...process.env, NODE_ENV: 'production', SESS_HOME: home}})
    const recorded = shell(`${cli} record --quiet --name endless -- yes | head -n 2; echo "exit \${PIPESTATUS[0]}"`)
    expect(recorded.stdout.toString()).toBe('y\ny\nexit 141\n')
    expect(sessJson<{session: {status: string}}>(home, ['show', 'endless']).json.session.status).toBe('terminated')
    const replay = shell(`${cli} replay endless --no-wait | head -c 4; echo " exit \${PIPESTATUS[0]}"`)
    expect(replay.stdout.toString()).toBe('y\ny\n exit 0\n')
    // Quiet: nothing on stderr but, when yes outran the pipe's end by over the buffer's bound, the note of what was evicted.
    expect(replay.stderr.toString()).toMatch(/^(sess: \d+ older events \(.+\) were evicted from endless's buffer \(bound 10 MiB\); replaying the \d+ kept\.\n)?$/)
  })

  test('reports the recording with --json; unknown commands and missing commands are errors', () => {
    // Everything after -- is the command, so --json goes before it.
    const result = sess(home, ['record', '--name', 'json-report', '--json', '--', 'true'])
    expect([result.code, result.stderr]).toEqual([0, ''])
    expect(JSON.parse(result.stdout)).toMatchObject({exitCode: 0, mode: 'pipes', name: 'json-report', status: 'completed'})
    expect(sess(home, ['record', '--', 'no-such-command-anywhere']).code).toBe(127)
    expect(sess(home, ['record']).code).toBe(2)
    expect(sess(home, ['record', '--buffer-limit', 'lots', '--', 'true']).code).toBe(2)
  })
})

describe('the bounded buffer under a long stream', () => {
  const home = join(tmp.path, 'evict')

  test('100 MiB through a 1 MiB buffer keeps the newest whole events, counts the rest, and the recorder stays small', async () => {
    const file = join(tmp.path, 'big.txt')
    const fd = openSync(file, 'w')
    const block = Buffer.alloc(1024 * 1024)
    for (let mib = 0; mib < 100; mib++) {
      for (let line = 0; line < 16384; line++) block.write(`${String(mib).padStart(3, '0')}:${String(line).padStart(5, '0')}:${'abcdefghijklmnopqrstuvwxyz01234567890123456789012345'}\n`, line * 64)
      writeSync(fd, block)
    }
    closeSync(fd)
    // Measured through peak-rss.ts: a child of the test runner would report the runner's own peak RSS.
    const rssFile = join(tmp.path, 'peak-rss')
    const record = [process.execPath, join(REPO, 'bin', 'run.ts'), 'record', '--json', '--buffer-limit', '1MiB', '--name', 'firehose', '--', 'cat', file]
    const proc = Bun.spawn([process.execPath, join(REPO, 'test', 'helpers', 'peak-rss.ts'), rssFile, ...record], {
      env: {...process.env, NODE_ENV: 'production', NO_COLOR: '1', SESS_HOME: home},
      stderr: 'pipe',
      stdout: 'pipe',
    })
    const [stdout] = await Promise.all([new Response(proc.stdout).arrayBuffer(), proc.exited])
    expect(proc.exitCode).toBe(0)
    const peakRss = Number(readFileSync(rssFile, 'utf8'))
    const text = Buffer.from(stdout)
    const report = JSON.parse(text.subarray(100 * 1024 * 1024).toString()) as {events: number; bytes: number; evictedEvents: number; evictedBytes: number}
    expect(text.subarray(0, 100 * 1024 * 1024).equals(readFileSync(file))).toBe(true)
    await using store = await openStore({home})
    const stats = await store.outputStats('firehose')
    expect(stats.bytes).toBeLessThanOrEqual(1024 * 1024)
    expect(stats.bytes).toBeGreaterThan(512 * 1024)
    expect([stats.events + stats.evictedEvents, stats.bytes + stats.evictedBytes]).toEqual([report.events, report.bytes])
    expect([stats.evictedEvents, stats.evictedBytes]).toEqual([report.evictedEvents, report.evictedBytes])
    const kept: string[] = []
    for await (const event of store.output('firehose')) if (event.code === 'o') kept.push(event.data)
    const tail = kept.join('')
    expect(tail.length).toBe(stats.bytes - 1) // all but the exit event's "0"
    expect(readFileSync(file).subarray(-tail.length).toString() === tail).toBe(true)
    // The recorder's memory does not follow the stream: 100 MiB passed through it.
    expect(peakRss, `peak RSS ${(peakRss / 1048576).toFixed(0)} MiB`).toBeLessThan(256 * 1024 * 1024)
  })
})

describe('sess replay', () => {
  const home = join(tmp.path, 'replay')

  beforeAll(async () => {
    await using store = await openStore({home})
    const timed = await store.create({kind: 'terminal', name: 'timed'})
    await store.appendOutput(timed.id, [
      {code: 'o', data: 'a', time: 0.1},
      {code: 'o', data: 'b', time: 0.5},
      {code: 'm', data: 'half', time: 0.6},
      {code: 'o', data: 'c', time: 0.7},
      {code: 'o', data: 'd', time: 1.7},
    ])
  })

  test('holds the gaps, scaled by --speed and capped by --idle-limit (within a tolerance)', async () => {
    const proc = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), 'replay', 'timed', '--speed', '2', '--idle-limit', '0.3'], {
      env: {...process.env, NODE_ENV: 'production', SESS_HOME: home},
      stdout: 'pipe',
    })
    const arrivals: [string, number][] = []
    for await (const chunk of proc.stdout) for (const char of Buffer.from(chunk).toString()) arrivals.push([char, performance.now()])
    expect(await proc.exited).toBe(0)
    expect(arrivals.map(([char]) => char).join('')).toBe('abcd')
    // gaps 0.4, 0.2 (0.1 + 0.1 around the marker), 1.0 → capped at 0.3 each, then halved
    const expected = [0, 0.15, 0.25, 0.4]
    const first = arrivals[0]![1]
    arrivals.forEach(([char, at], i) => expect(Math.abs((at - first) / 1000 - expected[i]!), `${char} at ${((at - first) / 1000).toFixed(3)} s`).toBeLessThan(0.06))
  })

  test('--from/--to by time or marker, --stats, and usage errors', () => {
    expect(sess(home, ['replay', 'timed', '--no-wait', '--from', 'half']).stdout).toBe('cd')
    expect(sess(home, ['replay', 'timed', '--no-wait', '--from', '0.2', '--to', 'half']).stdout).toBe('b')
    expect(sess(home, ['replay', 'timed', '--no-wait', '--to', '700ms']).stdout).toBe('abc')
    expect(sess(home, ['replay', 'timed', '--no-wait', '--from', 'nowhere']).code).toBe(4)
    expect(sess(home, ['replay', 'timed', '--speed', '0']).code).toBe(2)
    expect(sess(home, ['replay', 'timed', '--json']).code).toBe(2)
    expect(sess(home, ['replay', 'nobody']).code).toBe(4)
    const {json} = sessJson(home, ['replay', 'timed', '--stats'])
    expect(json).toMatchObject({bytes: 8, events: 5, evictedEvents: 0, name: 'timed'})
  })

  test('--follow: readers started before and after the writer begins see every event in order, and stop when it completes', async () => {
    const lines = Array.from({length: 40}, (_, i) => `line ${i + 1}`)
    const writer = Bun.spawn(
      [process.execPath, join(REPO, 'bin', 'run.ts'), 'record', '--quiet', '--name', 'live', '--', 'sh', '-c', `sleep 1.5; for i in $(seq 1 40); do echo "line $i"; sleep 0.03; done`],
      {env: {...process.env, NODE_ENV: 'production', SESS_HOME: home}, stdout: 'ignore'},
    )
    const follow = () => {
      const proc = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), 'replay', 'live', '--follow', '--no-wait'], {env: {...process.env, NODE_ENV: 'production', SESS_HOME: home}, stdout: 'pipe'})
      return Promise.all([new Response(proc.stdout).text(), proc.exited])
    }
    await using store = await openStore({home})
    const until = async (condition: () => Promise<boolean>) => {
      while (!(await condition())) await Bun.sleep(10)
    }
    await until(async () => (await store.list({name: 'live'})).length === 1)
    expect((await store.outputStats('live')).events).toBe(0)
    const before = follow()
    await until(async () => (await store.outputStats('live')).events >= 5)
    const after = follow()
    expect(await writer.exited).toBe(0)
    for (const [text, code] of await Promise.all([before, after])) {
      expect(code).toBe(0)
      expect(text).toBe(`${lines.join('\n')}\n`)
    }
  })

  test('restores the terminal modes when interrupted', async () => {
    await using store = await openStore({home})
    const s = await store.create({kind: 'terminal', name: 'fullscreen'})
    await store.appendOutput(s.id, [
      {code: 'o', data: '\u001b[?1049h\u001b[?25l\u001b[1;32mbusy', time: 0},
      {code: 'o', data: 'never shown', time: 30},
    ])
    const run = sessInTerminal(home, ['replay', 'fullscreen'])
    await run.waitFor('busy')
    process.kill(run.pid, 'SIGINT')
    expect(await run.exited).toBe(130)
    const text = Buffer.from(run.output()).toString()
    expect(text).not.toContain('never shown')
    expect(text.slice(text.indexOf('busy') + 4)).toBe('\u001b[0m\u001b[?1049l\u001b[?25h')
  })
})

describe('asciicast interop', () => {
  const home = join(tmp.path, 'cast')
  const casts = readdirSync(join(CORPUS, 'asciicast')).filter((file) => file.endsWith('.cast')).sort()
  const asciinema = Bun.which('asciinema')
  const events = (bytes: Uint8Array) => asciicastFormat.parse!(bytes).output.map((e) => [Math.round(e.time * 1e6), e.code, e.data])

  // On its first run asciinema saves an install id in its config home, and several started at once
  // in a fresh home race to create that directory. Given an id, it writes nothing there.
  const asciinemaEnv = {ASCIINEMA_INSTALL_ID: 'sess-tests'}

  /** What `asciinema cat FILE` prints (it needs a terminal, so it runs in one). */
  async function asciinemaCat(file: string): Promise<Buffer> {
    const run = inTerminal([asciinema!, 'cat', file], {env: asciinemaEnv})
    const status = await run.exited
    expect(status, `asciinema cat ${file} printed: ${Buffer.from(run.output()).toString().slice(-500)}`).toBe(0)
    return Buffer.from(run.output())
  }

  test(`every corpus cast (${casts.length}) saved then exported as v2 and v3 gives the same events`, async () => {
    expect(casts.length).toBeGreaterThan(0)
    await using store = await openStore({home})
    for (const file of casts) {
      const bytes = readFileSync(join(CORPUS, 'asciicast', file))
      const saved = await store.save({bytes, path: file})
      for (const version of [2, 3] as const) {
        const exported = await store.restore(saved.sessionId, {asciicastVersion: version, format: 'asciicast'})
        const want = events(bytes).filter(([, code]) => version === 3 || code !== 'x') // v2 has no exit events
        expect(events(exported.bytes), `${file} as v${version}`).toEqual(want)
      }
    }
  })

  test('asciinema cat of our export (and of a saved v2 original) equals sess replay --no-wait', async () => {
    expect(asciinema, 'asciinema is needed for this test: apt-get install asciinema (.ci/run installs it)').not.toBeNull()
    // Recorded by sess…
    const run = sessInTerminal(home, ['record', '--quiet', '--name', 'rec-cast', '--', 'sh', '-c', String.raw`printf '\033[1mbold\033[0m ✓\n'; echo "two"`])
    expect(await run.exited).toBe(0)
    const names = ['rec-cast', ...casts.map((file) => file.replace(/\.cast$/, ''))]
    sess(home, ['save', join(CORPUS, 'asciicast')])
    const dir = join(tmp.path, 'exports')
    await using store = await openStore({home})
    const checks: Promise<void>[] = []
    for (const name of names) {
      const exported = join(dir, `${name}.cast`)
      const {bytes} = await store.restore(name, {asciicastVersion: 2, format: 'asciicast'})
      await Bun.write(exported, bytes)
      const chunks: string[] = []
      await store.replay(name, (e) => (e.code === 'o' || e.code === 'e') && chunks.push(e.data), {wait: false})
      const expected = Buffer.from(chunks.join(''))
      checks.push(asciinemaCat(exported).then((cat) => expect(cat, name).toEqual(expected)))
      const original = join(CORPUS, 'asciicast', `${name}.cast`)
      if (name !== 'rec-cast' && readFileSync(original, 'utf8').startsWith('{"version": 2')) {
        checks.push(asciinemaCat(original).then((cat) => expect(cat, `${name} original`).toEqual(expected)))
      }
    }
    await Promise.all(checks)
    // …and through the CLI, which is what a user compares.
    expect(await asciinemaCat(join(dir, 'rec-cast.cast'))).toEqual(replayed(home, 'rec-cast'))
    expect(replayed(home, 'rec-cast').toString()).toBe('\u001b[1mbold\u001b[0m ✓\r\ntwo\r\n')
    // asciinema plays it too.
    const play = inTerminal([asciinema!, 'play', '--speed', '100', join(dir, 'rec-cast.cast')], {env: asciinemaEnv})
    expect(await play.exited).toBe(0)
    expect(Buffer.from(play.output()).toString()).toContain('two')
  })
})
