/**
 * Damaged originals of every import format through `sess save` and `sess restore` (DESIGN §6): a
 * BOM or invalid UTF-8 loses at most the line it is on, detection included, and the original
 * comes back byte for byte; Markdown is export-only and says so; asciicast times that go back are
 * clamped; JSON nested 10,000 deep and a single 100 MiB line are refused cleanly, in bounded
 * memory. Claude Code's BOM and invalid UTF-8, and invalid UTF-8 in a Gemini JSON document, are in
 * test/damaged.test.ts.
 */
import {readFileSync, writeFileSync, mkdirSync, openSync, writeSync, closeSync, ftruncateSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../../plugins/persistence/src/commands/save.ts'
import {openStore} from '../../src/index.ts'
import {CORPUS, expectCleanError, sess as run, sessJson as runJson, useTempDir} from '../helpers/cli.ts'

const PEAK_RSS = fileURLToPath(new URL('../helpers/peak-rss.ts', import.meta.url))
const RUN = fileURLToPath(new URL('../../bin/run.ts', import.meta.url))

const BOM = Uint8Array.of(0xef, 0xbb, 0xbf)
const NEWLINE = 0x0a

/** `bytes` with `insert` put in the middle of line `line` (1-based). */
function spliceLine(bytes: Uint8Array, line: number, insert: Uint8Array): Uint8Array {
  let start = 0
  for (let n = 1; n < line; n++) start = bytes.indexOf(NEWLINE, start) + 1
  const end = bytes.indexOf(NEWLINE, start)
  const at = start + Math.floor((end - start) / 2)
  return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)])
}

describe('a BOM and invalid UTF-8 in every import format', () => {
  const dir = useTempDir('sess-format-damage-')
  const home = join(dir.path, 'home')
  /** Each format's original, and the lines of its sess export when saved intact. */
  const SOURCES: {format: string; label: string; path: string; middle: number}[] = [
    {format: 'codex', label: 'codex', middle: 6, path: join(CORPUS, 'codex', 'agent-history-session-01.jsonl')},
    {format: 'gemini-cli', label: 'gemini-cli JSON', middle: 0, path: join(CORPUS, 'gemini-cli', 'agent-history-golden.json')},
    {format: 'gemini-cli', label: 'gemini-cli JSONL', middle: 5, path: join(CORPUS, 'gemini-cli', 'agent-history-tool-error.jsonl')},
    {format: 'asciicast', label: 'asciicast', middle: 6, path: join(CORPUS, 'asciicast', 'player-simple.cast')},
    {format: 'sess', label: 'sess', middle: 6, path: join(dir.path, 'exported.jsonl')},
  ]
  const intact = new Map<string, string[]>()

  /** A session's records and output events, as JSON lines (read through the library: a restore in the original's own format would give back the original). */
  async function content(name: string): Promise<string[]> {
    await using store = await openStore({home})
    const lines: string[] = []
    for await (const {record} of store.records(name)) lines.push(JSON.stringify(record))
    for await (const {code, data, time} of store.output(name)) lines.push(JSON.stringify({code, data, time}))
    return lines
  }

  beforeAll(async () => {
    const codex = runJson<SaveReport>(join(dir.path, 'source'), ['save', SOURCES[0]!.path, '--name', 'to-export'])
    expect(codex.code, codex.stderr).toBe(0)
    writeFileSync(SOURCES[4]!.path, run(join(dir.path, 'source'), ['restore', 'to-export', '--format', 'sess']).bytes)
    for (const source of SOURCES) {
      const name = `intact-${source.label.replace(' ', '-')}`
      expect(run(home, ['save', source.path, '--name', name]).code).toBe(0)
      intact.set(source.label, await content(name))
    }
  })

  test.each(SOURCES.map((source) => [source.label, source] as const))('%s with a BOM: detected, saved whole with the BOM reported, restored byte for byte', async (label, source) => {
    const bytes = Buffer.concat([BOM, readFileSync(source.path)])
    const path = join(dir.path, `bom-${label.replace(' ', '-')}`)
    writeFileSync(path, bytes)
    const saved = runJson<SaveReport>(home, ['save', path])
    expect(saved.code, saved.stderr).toBe(0)
    const [entry] = saved.json.saved
    expect(entry).toMatchObject({damage: [{line: 1, reason: expect.stringMatching(/byte-order mark/)}], format: source.format})
    expect(await content(entry!.name)).toEqual(intact.get(label))
    expect(Buffer.from(run(home, ['restore', entry!.name]).bytes).equals(bytes)).toBe(true)
  })

  test.each(SOURCES.filter((source) => source.middle > 0).map((source) => [source.label, source] as const))(
    '%s with invalid UTF-8 in a middle line: detected, that line reported and lost, every other kept, restored byte for byte',
    async (label, source) => {
      const bytes = spliceLine(readFileSync(source.path), source.middle, Uint8Array.of(0xff, 0xfe))
      const path = join(dir.path, `utf8-${label.replace(' ', '-')}`)
      writeFileSync(path, bytes)
      const saved = runJson<SaveReport>(home, ['save', path])
      expect(saved.code, saved.stderr).toBe(0)
      const [entry] = saved.json.saved
      expect(entry).toMatchObject({damage: [{line: source.middle, reason: 'invalid UTF-8'}], format: source.format})
      const kept = await content(entry!.name)
      const whole = intact.get(label)!
      expect(kept.length).toBeLessThan(whole.length)
      expect(kept.every((line) => whole.includes(line))).toBe(true)
      expect(Buffer.from(run(home, ['restore', entry!.name]).bytes).equals(bytes)).toBe(true)
    },
  )

  test('markdown is export-only: saving as it is refused (exit 2) saying so, and a Markdown file with a BOM and invalid UTF-8 is not a session (exit 2)', () => {
    const markdown = run(home, ['restore', 'intact-codex', '--format', 'markdown']).bytes
    const path = join(dir.path, 'chat.md')
    writeFileSync(path, spliceLine(Buffer.concat([BOM, markdown]), 3, Uint8Array.of(0xc3, 0x28)))
    const before = runJson<unknown[]>(home, ['list', '--limit', '0']).json.length
    expectCleanError(run(home, ['save', path, '--format', 'markdown']), 2, /the format "markdown" is export-only: sess writes it but cannot read it back/)
    expectCleanError(run(home, ['save', path]), 2, /chat\.md is not a session file sess can read: not a recognised session format/)
    expect(runJson<unknown[]>(home, ['list', '--limit', '0']).json).toHaveLength(before)
  })
})

describe('asciicast times that go back', () => {
  const dir = useTempDir('sess-cast-times-')
  const home = join(dir.path, 'home')

  test.each([
    ['v2, negative and decreasing times', '{"version": 2, "width": 80, "height": 24}\n[-1.5, "o", "a"]\n[2, "o", "b"]\n[0.5, "o", "c"]\n[3, "o", "d"]\n', [0, 2, 2, 3], [2, 4]],
    ['v3, a negative interval', '{"version": 3, "term": {"cols": 80, "rows": 24}}\n[1, "o", "a"]\n[-0.5, "o", "b"]\n[1, "o", "c"]\n[0, "o", "d"]\n', [1, 1, 2, 2], [3]],
  ])('%s: saved with each such line reported, times clamped so they never go back; replay and export keep every event in order', (label, cast, times, damaged) => {
    const path = join(dir.path, `${label.split(',')[0]}.cast`)
    writeFileSync(path, cast)
    const saved = runJson<SaveReport>(home, ['save', path])
    expect(saved.code, saved.stderr).toBe(0)
    const [entry] = saved.json.saved
    expect(entry!.damage.map((d) => d.line)).toEqual(damaged)
    expect(run(home, ['replay', entry!.name, '--no-wait']).stdout).toBe('abcd')
    const exported = run(home, ['restore', entry!.name, '--format', 'sess']).stdout.split('\n').slice(1, -1).map((line) => JSON.parse(line) as {type: string; time: number; data: string})
    const output = exported.filter((line) => line.type === 'output')
    expect(output.map(({time}) => time)).toEqual(times)
    expect(output.map(({data}) => data).join('')).toBe('abcd')
  })
})

describe('JSON nested 10,000 levels deep', () => {
  const dir = useTempDir('sess-deep-json-')
  const home = join(dir.path, 'home')
  const deep = (levels: number, leaf: string) => `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`

  test('in one record of a sess file: that line is reported and skipped, the rest saved, in bounded memory', () => {
    const header = JSON.stringify({sess: 1, session: {kind: 'agent', name: 'deep'}})
    const record = (text: string) => JSON.stringify({type: 'message', role: 'user', parts: [{type: 'text', text}]})
    const path = join(dir.path, 'deep.jsonl')
    writeFileSync(path, `${header}\n${record('before')}\n{"type":"tool_call","name":"x","args":${deep(10_000, '"needle"')}}\n${record('after')}\n`)
    const rss = join(dir.path, 'rss')
    const result = Bun.spawnSync([process.execPath, PEAK_RSS, rss, process.execPath, RUN, 'save', path, '--json'], {env: {...process.env, NO_COLOR: '1', SESS_HOME: home}})
    expect(result.exitCode, result.stderr.toString()).toBe(0)
    const [entry] = (JSON.parse(result.stdout.toString()) as SaveReport).saved
    expect(entry).toMatchObject({damage: [{line: 3, reason: 'nested deeper than 1000 levels, the most sess reads'}], format: 'sess', records: 2})
    expect(Number(readFileSync(rss, 'utf8'))).toBeLessThan(256 * 1024 ** 2)
  })

  test('as a whole JSON document: refused (exit 2), naming the nesting limit', () => {
    const path = join(dir.path, 'deep.json')
    writeFileSync(path, `[${deep(10_000, '1')}]`)
    expectCleanError(run(home, ['save', path]), 2, /deep\.json is not a session file sess can read: the JSON is nested deeper than 1000 levels/)
  })

  test('a record appended through the library 5,000 levels deep exports to Markdown compact, not indented 5,000 levels (25 MB)', async () => {
    {
      await using store = await openStore({home})
      const session = await store.create({name: 'deep-appended'})
      await store.append(session.id, {type: 'tool_call', name: 'x', args: JSON.parse(deep(5_000, '"needle"')) as Record<string, unknown>})
    }
    const markdown = run(home, ['restore', 'deep-appended', '--format', 'markdown'])
    expect(markdown.code, markdown.stderr).toBe(0)
    expect(markdown.stdout).toContain(deep(5_000, '"needle"'))
    expect(markdown.bytes.length).toBeLessThan(100_000)
  })
})

describe('a single 100 MiB line', () => {
  const dir = useTempDir('sess-huge-line-')
  const home = join(dir.path, 'home')
  const files = join(dir.path, 'files')
  const huge = join(files, 'huge.jsonl')

  beforeAll(() => {
    mkdirSync(files)
    // One JSON line of 100 MiB (a Claude Code user message), written once, sparse: a hole of NULs inside its text.
    const head = Buffer.from('{"type":"user","uuid":"u1","sessionId":"s","timestamp":"2025-01-01T00:00:00Z","message":{"role":"user","content":"')
    const tail = Buffer.from('"}}\n')
    const fd = openSync(huge, 'w')
    writeSync(fd, head)
    ftruncateSync(fd, 100 * 1024 ** 2 - tail.length)
    writeSync(fd, tail, 0, tail.length, 100 * 1024 ** 2 - tail.length)
    closeSync(fd)
    writeFileSync(join(files, 'small.jsonl'), readFileSync(join(CORPUS, 'claude-code', 'agent-history-session-01.jsonl')))
  })

  test('named directly: refused (exit 1) before it is read, naming the limit and how to raise it; nothing is saved; bounded memory', () => {
    const rss = join(dir.path, 'rss')
    const result = Bun.spawnSync([process.execPath, PEAK_RSS, rss, process.execPath, RUN, 'save', huge], {env: {...process.env, NO_COLOR: '1', SESS_HOME: home}})
    expect(result.exitCode).toBe(1)
    expect(result.stderr.toString()).toMatch(/^Error: .*huge\.jsonl is larger than 64 MiB, the most sess save reads \(save\.maxBytes\); nothing was saved\.\nHint: If it is a session, raise the limit: sess config set save\.maxBytes 256MiB\.$/m)
    expect(Number(readFileSync(rss, 'utf8'))).toBeLessThan(256 * 1024 ** 2)
    expect(runJson<unknown[]>(home, ['list']).json).toEqual([])
  })

  test('in a directory: skipped with the reason, and the session beside it saved', () => {
    const saved = runJson<SaveReport>(home, ['save', files])
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.json.saved.map((entry) => entry.name)).toEqual(['small'])
    expect(saved.json.skipped).toEqual([{path: huge, reason: expect.stringMatching(/larger than 64 MiB, the most sess save reads \(save\.maxBytes\)/)}])
  })

  test('save.maxBytes moves the limit: a file over it is refused, one under it saved', () => {
    const limited = join(dir.path, 'limited')
    expect(run(limited, ['config', 'set', 'save.maxBytes', '1KiB']).code).toBe(0)
    const small = join(files, 'small.jsonl')
    expectCleanError(run(limited, ['save', small]), 1, /larger than 1\.0 KiB, the most sess save reads \(save\.maxBytes\)/)
    expect(run(limited, ['config', 'set', 'save.maxBytes', '1MiB']).code).toBe(0)
    expect(run(limited, ['save', small]).code).toBe(0)
  })
})
