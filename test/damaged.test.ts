/**
 * Damaged originals (DESIGN §1, §6): a torn tail, a BOM, invalid UTF-8 or bad JSON in one line must
 * not lose the rest of the session; the damage is reported where it is (save and show), the
 * damaged original is still given back byte for byte, and a directory of junk is skipped file by
 * file with reasons.
 */
import {copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../plugins/persistence/src/commands/save.ts'
import type {ShowResult} from '../src/commands/show.ts'
import type {Session} from '../src/session/types.ts'
import {CORPUS, sess as run, sessJson as runJson, useTempDir} from './helpers/cli.ts'

const NEWLINE = 0x0a
const BOM = Uint8Array.of(0xef, 0xbb, 0xbf)

/** The lines of `bytes` without their newlines (the file ends with one newline). */
function lines(bytes: Uint8Array): Buffer[] {
  const all: Buffer[] = []
  let start = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === NEWLINE) {
      all.push(Buffer.from(bytes.subarray(start, i)))
      start = i + 1
    }
  }
  expect(start, 'the corpus files end with a newline').toBe(bytes.length)
  return all
}

function join1(parts: Uint8Array[], trailingNewline = true): Buffer {
  const newline = Buffer.from([NEWLINE])
  const body = parts.flatMap((part, index) => (index === 0 ? [part] : [newline, part]))
  return Buffer.concat(trailingNewline ? [...body, newline] : body)
}

/** `line` with `insert` put in its middle. */
function splice(line: Buffer, insert: Uint8Array): Buffer {
  const middle = Math.floor(line.length / 2)
  return Buffer.concat([line.subarray(0, middle), insert, line.subarray(middle)])
}

function noStackTrace(result: {stderr: string}): void {
  expect(result.stderr).not.toMatch(/^\s{4}at /m)
}

describe('a damaged Claude Code transcript keeps the rest of the session', () => {
  const SOURCE = join(CORPUS, 'claude-code', 'agent-history-compaction.jsonl')
  const original = readFileSync(SOURCE)
  const originalLines = lines(original)
  const LAST = originalLines.length
  const dir = useTempDir('sess-damaged-')
  const home = join(dir.path, 'home')
  /** Records of the intact session per line of the original. */
  const recordsOfLine = new Map<number, number>()
  let intactCount = 0

  interface Case {
    name: string
    bytes: Buffer
    damage: {line: number | null; reason: RegExp}[]
    /** Lines whose records are lost. */
    lost: number[]
  }

  const middle = Math.floor(LAST / 2)
  const cases: Case[] = [
    {
      // An interrupted write: the last line cut in half, no newline.
      bytes: join1([...originalLines.slice(0, -1), originalLines.at(-1)!.subarray(0, Math.floor(originalLines.at(-1)!.length / 2))], false),
      damage: [{line: LAST, reason: /torn/i}],
      lost: [LAST],
      name: 'torn-tail',
    },
    {
      bytes: Buffer.concat([BOM, original]),
      damage: [{line: 1, reason: /byte.order mark/i}],
      lost: [],
      name: 'bom',
    },
    {
      bytes: join1(originalLines.map((line, index) => (index + 1 === middle ? splice(line, Uint8Array.of(0xff)) : line))),
      damage: [{line: middle, reason: /UTF-8/i}],
      lost: [middle],
      name: 'invalid-utf8',
    },
    {
      bytes: join1(originalLines.map((line, index) => (index + 1 === 4 ? Buffer.from('{"type": "user", "message": {"role": ') : line))),
      damage: [{line: 4, reason: /JSON/i}],
      lost: [4],
      name: 'bad-json',
    },
  ]

  const results = new Map<string, {code: number; json: SaveReport; stderr: string}>()

  beforeAll(() => {
    const intact = runJson<SaveReport>(home, ['save', SOURCE, '--name', 'intact'])
    expect(intact.code, intact.stderr).toBe(0)
    intactCount = intact.json.saved[0]!.records
    const shown = runJson<ShowResult>(home, ['show', 'intact', '--records', '100000'])
    for (const {record} of shown.json.records) recordsOfLine.set(record.line!, (recordsOfLine.get(record.line!) ?? 0) + 1)
    expect(shown.json.records).toHaveLength(intactCount)
    for (const c of cases) {
      writeFileSync(join(dir.path, `${c.name}.jsonl`), c.bytes)
      results.set(c.name, runJson<SaveReport>(home, ['save', join(dir.path, `${c.name}.jsonl`), '--name', c.name]))
    }
  })

  test('the intact transcript maps every record to a line, and the lines damaged below hold records', () => {
    expect(intactCount).toBeGreaterThan(LAST - 1)
    expect([...recordsOfLine.values()].reduce((a, b) => a + b, 0)).toBe(intactCount)
    for (const c of cases) for (const line of c.lost) expect(recordsOfLine.get(line), `${c.name}: line ${line}`).toBeGreaterThan(0)
  })

  test.each(cases.map((c) => [c.name, c] as const))('%s: saved (exit 0) with the rest of the records and the damage reported', (name, c) => {
    const result = results.get(name)!
    expect(result.code, result.stderr).toBe(0)
    noStackTrace(result)
    expect(result.json.skipped).toEqual([])
    const [entry] = result.json.saved
    expect(entry).toMatchObject({created: true, format: 'claude-code', name})
    const lost = c.lost.reduce((sum, line) => sum + recordsOfLine.get(line)!, 0)
    expect(entry!.records).toBe(intactCount - lost)
    expect(entry!.damage).toHaveLength(c.damage.length)
    c.damage.forEach((expected, index) => {
      expect(entry!.damage[index]!.line).toBe(expected.line)
      expect(entry!.damage[index]!.reason).toMatch(expected.reason)
    })
  })

  test.each(cases.map((c) => [c.name, c] as const))('%s: show --json has the damage in versions[] and the surviving records', (name, c) => {
    const shown = runJson<ShowResult>(home, ['show', name, '--records', '100000'])
    expect(shown.code, shown.stderr).toBe(0)
    const saved = results.get(name)!.json.saved[0]!
    expect(shown.json.versions).toHaveLength(1)
    expect(shown.json.versions[0]!.damage).toEqual(saved.damage)
    expect(shown.json.session.recordCount).toBe(saved.records)
    expect(shown.json.records).toHaveLength(saved.records)
    const linesKept = new Set(shown.json.records.map((r) => r.record.line))
    for (const line of c.lost) expect(linesKept.has(line), `line ${line} is gone`).toBe(false)
    // Every other line's records are all there.
    const expectedLines = [...recordsOfLine.keys()].filter((line) => !c.lost.includes(line)).sort((a, b) => a - b)
    expect([...linesKept].sort((a, b) => a! - b!)).toEqual(expectedLines)
  })

  test.each(cases.map((c) => [c.name, c] as const))('%s: restore gives back the damaged original byte for byte', (name, c) => {
    const out = join(dir.path, `${name}.restored`)
    const result = run(home, ['restore', name, '--to', out])
    expect(result.code, result.stderr).toBe(0)
    expect(Buffer.from(readFileSync(out)).equals(c.bytes)).toBe(true)
  })

  test('the human output of save and show names the damaged line', () => {
    const again = join(dir.path, 'bad-json-again.jsonl')
    // Different bytes (so not "unchanged"), same damage on line 4.
    writeFileSync(again, Buffer.concat([cases[3]!.bytes, Buffer.from('\n')]))
    const saved = run(home, ['save', again, '--name', 'bad-json-again'])
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.stdout).toMatch(/damaged: line 4: invalid JSON/)
    const shown = run(home, ['show', 'bad-json-again'])
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toMatch(/damaged: line 4: invalid JSON/)
  })

  test('an empty file is refused with exit 2, saying it is empty, and nothing is written', () => {
    const before = runJson<Session[]>(home, ['list', '--limit', '0']).json.length
    const blobsBefore = readdirSync(join(home, 'blobs')).sort()
    const empty = join(dir.path, 'empty.jsonl')
    writeFileSync(empty, '')
    const result = run(home, ['save', empty])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/empty/)
    noStackTrace(result)
    const json = runJson<{error: {code: string; exitCode: number; message: string}}>(home, ['save', empty])
    expect(json.code).toBe(2)
    expect(json.json.error).toMatchObject({code: 'E_INVALID_INPUT', exitCode: 2})
    expect(runJson<Session[]>(home, ['list', '--limit', '0']).json).toHaveLength(before)
    expect(readdirSync(join(home, 'blobs')).sort()).toEqual(blobsBefore)
  })
})

describe('other formats with damage', () => {
  const dir = useTempDir('sess-damaged-formats-')
  const home = join(dir.path, 'home')

  /** The output events of a session, through its sess JSONL export. */
  function outputEvents(name: string): unknown[] {
    const result = run(home, ['restore', name, '--format', 'sess'])
    expect(result.code, result.stderr).toBe(0)
    return result.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as {type?: string})
      .filter((line) => line.type === 'output')
  }

  test('a torn asciicast keeps every event but the torn one', () => {
    const source = join(CORPUS, 'asciicast', 'player-simple.cast')
    const sourceLines = lines(readFileSync(source))
    const torn = join1([...sourceLines.slice(0, -1), sourceLines.at(-1)!.subarray(0, 5)], false)
    writeFileSync(join(dir.path, 'torn.cast'), torn)
    expect(run(home, ['save', source, '--name', 'simple']).code).toBe(0)
    const saved = runJson<SaveReport>(home, ['save', join(dir.path, 'torn.cast'), '--name', 'torn-cast'])
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.json.saved[0]).toMatchObject({format: 'asciicast'})
    expect(saved.json.saved[0]!.damage).toEqual([{line: sourceLines.length, reason: expect.stringMatching(/torn/)}])
    const intact = outputEvents('simple')
    expect(intact).toHaveLength(sourceLines.length - 1)
    expect(outputEvents('torn-cast')).toEqual(intact.slice(0, -1))
    const restored = run(home, ['restore', 'torn-cast'])
    expect(Buffer.from(restored.bytes).equals(torn)).toBe(true)
  })

  test('invalid UTF-8 inside a string of a Gemini JSON document loses nothing: the bytes are replaced and reported', () => {
    const source = join(CORPUS, 'gemini-cli', 'agent-history-golden.json')
    const text = readFileSync(source)
    // Inside the first message text: right after its opening quote.
    const at = text.indexOf('"content": "') + '"content": "'.length
    expect(at).toBeGreaterThan(20)
    const damaged = Buffer.concat([text.subarray(0, at), Uint8Array.of(0xff, 0xfe), text.subarray(at)])
    writeFileSync(join(dir.path, 'golden.json'), damaged)
    const intact = runJson<SaveReport>(home, ['save', source, '--name', 'golden'])
    const saved = runJson<SaveReport>(home, ['save', join(dir.path, 'golden.json'), '--name', 'golden-damaged'])
    expect(saved.code, saved.stderr).toBe(0)
    const entry = saved.json.saved[0]!
    expect(entry).toMatchObject({format: 'gemini-cli', records: intact.json.saved[0]!.records})
    const line = damaged.subarray(0, at).filter((byte) => byte === NEWLINE).length + 1
    expect(entry.damage).toEqual([{line, reason: expect.stringMatching(/UTF-8/)}])
    const restored = run(home, ['restore', 'golden-damaged'])
    expect(Buffer.from(restored.bytes).equals(damaged)).toBe(true)
  })
})

describe('a directory of mixed junk', () => {
  const dir = useTempDir('sess-junk-')
  const home = join(dir.path, 'home')
  let junk: string
  let result: {code: number; json: SaveReport; stderr: string}

  beforeAll(() => {
    junk = join(dir.path, 'junk')
    mkdirSync(join(junk, 'nested'), {recursive: true})
    const binary = new Uint8Array(4096)
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919 + 13) % 256
    writeFileSync(join(junk, 'binary.bin'), binary)
    writeFileSync(join(junk, 'notes.txt'), 'Remember to buy milk.\nAnd eggs.\n')
    writeFileSync(join(junk, 'empty.jsonl'), '')
    writeFileSync(join(junk, 'config.json'), '{"theme": "dark", "fontSize": 12}\n')
    copyFileSync(join(CORPUS, 'codex', 'agent-history-session-01.jsonl'), join(junk, 'nested', 'rollout.jsonl'))
    result = runJson<SaveReport>(home, ['save', junk])
  })

  test('exits 0, saves the session and skips every other file with a reason', () => {
    expect(result.code, result.stderr).toBe(0)
    noStackTrace(result)
    expect(result.json.saved).toEqual([expect.objectContaining({created: true, format: 'codex', path: join(junk, 'nested', 'rollout.jsonl')})])
    const skipped = Object.fromEntries(result.json.skipped.map((s) => [s.path.slice(junk.length + 1), s.reason]))
    expect(Object.keys(skipped).sort()).toEqual(['binary.bin', 'config.json', 'empty.jsonl', 'notes.txt'])
    expect(skipped['empty.jsonl']).toMatch(/empty/)
    for (const [path, reason] of Object.entries(skipped)) expect(reason, path).toMatch(/\w{3,}/)
  })

  test('only the session went into the store', () => {
    const listed = runJson<Session[]>(home, ['list', '--limit', '0'])
    expect(listed.json.map((s) => s.name)).toEqual(['rollout'])
    expect(readdirSync(join(home, 'blobs'))).toEqual([result.json.saved[0]!.sessionId])
  })

  test('the human output lists each skipped file with its reason, and a summary', () => {
    const human = run(home, ['save', junk])
    expect(human.code).toBe(0)
    for (const name of ['binary.bin', 'notes.txt', 'empty.jsonl', 'config.json']) expect(human.stdout).toMatch(new RegExp(`skipped\\s+\\S*${name.replace('.', '\\.')}: \\S`))
    expect(human.stdout).toContain('0 saved, 1 unchanged, 4 skipped')
  })
})
