/**
 * The shared corpus of real session files (corpus/SOURCES.md) through the real CLI: every file is
 * saved, detected as its format, restored byte for byte (to a file and to stdout), its records are
 * all indexed, saving is idempotent, and the conversions (markdown, sess, asciicast) hold.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../plugins/persistence/src/commands/save.ts'
import type {RestoreReport} from '../plugins/persistence/src/commands/restore.ts'
import type {ShowResult} from '../src/commands/show.ts'
import type {Session} from '../src/session/types.ts'
import {openStore} from '../src/index.ts'
import {CORPUS, type CliResult, REPO, sess as run, sessJson as runJson, useTempDir} from './helpers/cli.ts'
import {DIALECTS, type StoreTarget, storeTarget} from './helpers/dialects.ts'

/** Expected format of each corpus folder (DESIGN §6); `other/` holds a format sess does not know. */
const FORMAT_OF_FOLDER: Record<string, string> = {
  asciicast: 'asciicast',
  'claude-code': 'claude-code',
  codex: 'codex',
  'gemini-cli': 'gemini-cli',
  other: 'raw',
}

/** Files of the corpus that are not sessions: the licence texts and the provenance notes. */
const NOT_SESSIONS = (path: string) => path.startsWith('LICENSES/') || path === 'SOURCES.md'

function walk(directory: string): string[] {
  return readdirSync(directory, {withFileTypes: true})
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((entry) => (entry.isDirectory() ? walk(join(directory, entry.name)) : [join(directory, entry.name)]))
}

const ALL_FILES = walk(CORPUS).map((path) => relative(CORPUS, path))
const SESSION_FILES = ALL_FILES.filter((path) => !NOT_SESSIONS(path))
const GROUPS = Object.keys(FORMAT_OF_FOLDER)

/** Runs the CLI without blocking the worker, so independent runs overlap (same environment as `sess`). */
async function sessAsync(home: string, args: string[]): Promise<CliResult> {
  const child = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), ...args], {
    cwd: REPO,
    env: {...process.env, NO_COLOR: '1', SESS_HOME: home, XDG_DATA_HOME: join(home, '..', 'xdg-data')},
    stderr: 'pipe',
    stdin: 'ignore',
    stdout: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text(), child.exited])
  const bytes = new Uint8Array(stdout)
  return {bytes, code, stderr, stdout: new TextDecoder().decode(bytes)}
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return results
}

function parseJson<T>(result: CliResult, what: string): T {
  try {
    return JSON.parse(result.stdout) as T
  } catch {
    throw new Error(`${what} printed no JSON (exit ${result.code}).\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
  }
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  expect(Buffer.from(actual).equals(Buffer.from(expected)), `${what}: ${actual.length} bytes, expected ${expected.length} identical bytes`).toBe(true)
}

function listSessions(home: string): Session[] {
  const {code, json} = runJson<Session[]>(home, ['list', '--limit', '0'])
  expect(code).toBe(0)
  return json
}

test('the corpus holds the files SOURCES.md describes, in every folder', () => {
  for (const group of GROUPS) expect(SESSION_FILES.some((path) => path.startsWith(`${group}/`)), group).toBe(true)
  expect(SESSION_FILES.length).toBeGreaterThanOrEqual(30)
})

describe.each(GROUPS)('corpus/%s', (group) => {
  const files = SESSION_FILES.filter((path) => path.startsWith(`${group}/`))
  const expectedFormat = FORMAT_OF_FOLDER[group]!
  const dir = useTempDir('sess-corpus-')
  const home = join(dir.path, 'home')
  /** What `sess save --json` reported, per corpus path. */
  const saved = new Map<string, SaveReport['saved'][number]>()

  beforeAll(async () => {
    // The folder in one run (one spawn); the unknown-format file must be named to be kept as raw.
    const args = group === 'other' ? ['save', join(CORPUS, files[0]!), '--json'] : ['save', join(CORPUS, group), '--json']
    const result = await sessAsync(home, args)
    expect(result.code, `sess ${args.join(' ')}: ${result.stderr}`).toBe(0)
    const report = parseJson<SaveReport>(result, `sess ${args.join(' ')}`)
    expect(report.skipped).toEqual([])
    for (const entry of report.saved) saved.set(relative(CORPUS, entry.path), entry)
  })

  test('each file is saved as a new session in the format of its folder', () => {
    expect([...saved.keys()].sort()).toEqual([...files].sort())
    for (const file of files) {
      const result = saved.get(file)!
      expect(result.format, file).toBe(expectedFormat)
      expect(result.created, file).toBe(true)
      expect(result.unchanged, file).toBe(false)
      expect(result.version, file).toBe(1)
      expect(result.damage, file).toEqual([]) // the corpus is not damaged (SOURCES.md)
      expect(result.records, file).toBeGreaterThan(0)
    }
    expect(new Set([...saved.values()].map((s) => s.sessionId)).size).toBe(files.length)
    expect(new Set([...saved.values()].map((s) => s.name)).size).toBe(files.length)
    if (group === 'other') expect(saved.get(files[0]!)!.notice).toMatch(/not recognised/)
  })

  test('restore --to FILE gives the original bytes, byte for byte', async () => {
    await mapLimit(files, 2, async (file) => {
      const out = join(dir.path, `restored-${file.replaceAll('/', '_')}`)
      const result = await sessAsync(home, ['restore', saved.get(file)!.name, '--to', out, '--json'])
      expect(result.code, `${file}: ${result.stderr}`).toBe(0)
      const report = parseJson<RestoreReport>(result, `sess restore ${file}`)
      expect(report).toMatchObject({action: 'written', format: expectedFormat, original: true, to: out})
      expectSameBytes(readFileSync(out), readFileSync(join(CORPUS, file)), file)
    })
  })

  test('restore to stdout gives the original bytes, byte for byte', async () => {
    // The largest file of the folder and the one with the most non-ASCII bytes.
    const nonAscii = (file: string) => readFileSync(join(CORPUS, file)).filter((byte) => byte > 0x7f).length
    const size = (file: string) => readFileSync(join(CORPUS, file)).length
    const chosen = [...new Set([files.reduce((a, b) => (size(b) > size(a) ? b : a)), files.reduce((a, b) => (nonAscii(b) > nonAscii(a) ? b : a))])]
    await mapLimit(chosen, 2, async (file) => {
      const result = await sessAsync(home, ['restore', saved.get(file)!.name])
      expect(result.code, `${file}: ${result.stderr}`).toBe(0)
      expectSameBytes(result.bytes, readFileSync(join(CORPUS, file)), `${file} on stdout`)
    })
  })

  test('record counts in show --json and list --json equal what the save reported, and every record is stored', async () => {
    const listed = parseJson<Session[]>(await sessAsync(home, ['list', '--limit', '0', '--json']), 'sess list')
    expect(listed).toHaveLength(files.length)
    for (const file of files) {
      const {records, sessionId} = saved.get(file)!
      expect(listed.find((s) => s.id === sessionId), file).toMatchObject({format: expectedFormat, recordCount: records})
    }
    // show reads the records themselves: the largest session of the folder.
    const file = files.reduce((a, b) => (saved.get(b)!.records > saved.get(a)!.records ? b : a))
    const {name, records, sessionId} = saved.get(file)!
    const result = await sessAsync(home, ['show', name, '--records', '100000', '--json'])
    expect(result.code, `${file}: ${result.stderr}`).toBe(0)
    const shown = parseJson<ShowResult>(result, `sess show ${name}`)
    expect(shown.session).toMatchObject({format: expectedFormat, id: sessionId, recordCount: records})
    expect(shown.records.map((r) => r.seq)).toEqual(Array.from({length: records}, (_, i) => i + 1))
    expect(shown.versions).toEqual([expect.objectContaining({bytes: readFileSync(join(CORPUS, file)).length, damage: [], format: expectedFormat, version: 1})])
  })

  test('saving a file again reports it unchanged and adds no session', async () => {
    const before = listSessions(home)
    expect(before).toHaveLength(files.length)
    const file = files[0]!
    const again = runJson<SaveReport>(home, ['save', join(CORPUS, file)])
    expect(again.code).toBe(0)
    expect(again.json.saved).toEqual([expect.objectContaining({created: false, name: saved.get(file)!.name, sessionId: saved.get(file)!.sessionId, unchanged: true})])
    // The whole folder again: every file unchanged.
    const folder = runJson<SaveReport>(home, ['save', join(CORPUS, group)])
    expect(folder.code).toBe(0)
    if (group === 'other') {
      // In a directory walk a file of unknown format is skipped with the reason, not kept as raw.
      expect(folder.json.saved).toEqual([])
      expect(folder.json.skipped).toEqual([{path: join(CORPUS, file), reason: expect.stringMatching(/not a recognised session format/)}])
    } else {
      expect(folder.json.skipped).toEqual([])
      expect(folder.json.saved).toHaveLength(files.length)
      for (const entry of folder.json.saved) expect(entry, entry.path).toMatchObject({unchanged: true, version: 1})
    }
    const after = listSessions(home)
    expect(after.map((s) => s.id).sort()).toEqual(before.map((s) => s.id).sort())
  })
})

describe.each(DIALECTS)('the whole corpus directory on %s', (dialect) => {
  let target: StoreTarget
  let first: {code: number; json: SaveReport; stderr: string}
  const cli = (args: string[]) => run(target.home, args, {env: target.env})
  const cliJson = <T>(args: string[]) => runJson<T>(target.home, args, {env: target.env})

  beforeAll(async () => {
    target = await storeTarget(dialect, 'sess-corpus-dir-')
    first = cliJson<SaveReport>(['save', CORPUS])
  })

  afterAll(() => target.remove())

  test('saves every session file, skipping the licences, SOURCES.md and the unknown pi file with a reason', () => {
    expect(first.code, first.stderr).toBe(0)
    const savedPaths = first.json.saved.map((s) => relative(CORPUS, s.path)).sort()
    const expected = SESSION_FILES.filter((path) => !path.startsWith('other/')).sort()
    expect(savedPaths).toEqual(expected)
    for (const entry of first.json.saved) {
      expect(entry.format, entry.path).toBe(FORMAT_OF_FOLDER[relative(CORPUS, entry.path).split('/')[0]!])
      expect(entry.created).toBe(true)
    }
    const skipped = new Map(first.json.skipped.map((s) => [relative(CORPUS, s.path), s.reason]))
    const expectedSkipped = [...ALL_FILES.filter(NOT_SESSIONS), ...SESSION_FILES.filter((path) => path.startsWith('other/'))].sort()
    expect([...skipped.keys()].sort()).toEqual(expectedSkipped)
    for (const [path, reason] of skipped) expect(reason, path).toMatch(/\S/)
    expect(cliJson<Session[]>(['list', '--limit', '0']).json).toHaveLength(expected.length)
  })

  test('every file saved restores byte for byte', async () => {
    await using store = await openStore(target.options)
    for (const entry of first.json.saved) expectSameBytes((await store.restore(entry.sessionId)).bytes, readFileSync(entry.path), relative(CORPUS, entry.path))
  })

  test('is idempotent: a second run saves nothing new', () => {
    const second = cliJson<SaveReport>(['save', CORPUS])
    expect(second.code, second.stderr).toBe(0)
    expect(second.json.saved.filter((s) => !s.unchanged)).toEqual([])
    expect(second.json.saved.map((s) => s.sessionId).sort()).toEqual(first.json.saved.map((s) => s.sessionId).sort())
    expect(second.json.skipped.map((s) => s.path).sort()).toEqual(first.json.skipped.map((s) => s.path).sort())
    expect(cliJson<Session[]>(['list', '--limit', '0']).json).toHaveLength(first.json.saved.length)
  })

  test('the human summary counts 0 new on a second run', () => {
    const result = cli(['save', CORPUS])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`0 saved, ${first.json.saved.length} unchanged, ${first.json.skipped.length} skipped`)
    expect(result.stdout).toMatch(/skipped\s+\S*SOURCES\.md: /)
  })
})

describe('conversions', () => {
  const dir = useTempDir('sess-corpus-convert-')
  const home = join(dir.path, 'home')

  beforeAll(() => {
    for (const file of ['claude-code/simonw-sample-session.jsonl', 'asciicast/player-markers-input.cast', 'asciicast/player-resizing.cast']) {
      const result = run(home, ['save', join(CORPUS, file)])
      expect(result.code, result.stderr).toBe(0)
    }
  })

  test('--format markdown holds the messages’ text', () => {
    const result = run(home, ['restore', 'simonw-sample-session', '--format', 'markdown'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^# /)
    expect(result.stdout).toContain('Create a hello world function')
    expect(result.stdout).toContain("I'll create that function for you.")
    expect(result.stdout).toContain('Write')
  })

  test('--format sess writes a file that saves back as a sess session with the same records', () => {
    const out = join(dir.path, 'native.jsonl')
    const written = run(home, ['restore', 'simonw-sample-session', '--format', 'sess', '--to', out])
    expect(written.code, written.stderr).toBe(0)
    const original = runJson<ShowResult>(home, ['show', 'simonw-sample-session', '--records', '1000'])
    const resaved = runJson<SaveReport>(home, ['save', out, '--name', 'native'])
    expect(resaved.code, resaved.stderr).toBe(0)
    expect(resaved.json.saved[0]).toMatchObject({created: true, damage: [], format: 'sess', records: original.json.session.recordCount})
    const copy = runJson<ShowResult>(home, ['show', 'native', '--records', '1000'])
    expect(copy.json.session.kind).toBe(original.json.session.kind)
    expect(copy.json.records.map((r) => r.record)).toEqual(original.json.records.map((r) => r.record))
  })

  /** The `[time, code, data]` events of an asciicast file (every line after the header). */
  function events(bytes: Uint8Array): unknown[] {
    return new TextDecoder()
      .decode(bytes)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(1)
      .map((line) => JSON.parse(line) as unknown)
  }

  test('--format asciicast of a cast gives its output events (v2), also after a trip through sess JSONL', () => {
    const original = readFileSync(join(CORPUS, 'asciicast/player-markers-input.cast'))
    const direct = run(home, ['restore', 'player-markers-input', '--format', 'asciicast'])
    expect(direct.code, direct.stderr).toBe(0)
    expect(events(direct.bytes)).toEqual(events(original))
    // Through sess JSONL and back: the asciicast serializer itself, not the saved original.
    const native = join(dir.path, 'markers.jsonl')
    expect(run(home, ['restore', 'player-markers-input', '--format', 'sess', '--to', native]).code).toBe(0)
    expect(run(home, ['save', native, '--name', 'markers-native']).code).toBe(0)
    const converted = run(home, ['restore', 'markers-native', '--format', 'asciicast'])
    expect(converted.code, converted.stderr).toBe(0)
    const [header] = new TextDecoder().decode(converted.bytes).split('\n')
    expect(JSON.parse(header!)).toMatchObject({height: 24, version: 2, width: 80})
    expect(events(converted.bytes)).toEqual(events(original))
  })

  test('a v3 cast converted to v2 has absolute times (the v3 intervals summed)', () => {
    const native = join(dir.path, 'resizing.jsonl')
    expect(run(home, ['restore', 'player-resizing', '--format', 'sess', '--to', native]).code).toBe(0)
    expect(run(home, ['save', native, '--name', 'resizing-native']).code).toBe(0)
    const converted = run(home, ['restore', 'resizing-native', '--format', 'asciicast'])
    expect(converted.code, converted.stderr).toBe(0)
    let elapsed = 0
    const expected = events(readFileSync(join(CORPUS, 'asciicast/player-resizing.cast'))).map((event) => {
      const [interval, code, data] = event as [number, string, string]
      elapsed = Math.round((elapsed + interval) * 1e6) / 1e6
      return [elapsed, code, data]
    }).filter(([, code]) => code !== 'x') // v2 has no exit events
    expect(JSON.parse(new TextDecoder().decode(converted.bytes).split('\n')[0]!)).toMatchObject({version: 2})
    expect(events(converted.bytes)).toEqual(expected)
  })

  test('--asciicast-version 3 asked for explicitly on a v2 cast writes asciicast v3', () => {
    const result = run(home, ['restore', 'player-markers-input', '--format', 'asciicast', '--asciicast-version', '3'])
    expect(result.code, result.stderr).toBe(0)
    const [header] = new TextDecoder().decode(result.bytes).split('\n')
    expect(JSON.parse(header!)).toMatchObject({term: {cols: 80, rows: 24}, version: 3})
  })
})
