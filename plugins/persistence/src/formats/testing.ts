/**
 * Test support for the format adapters: the shared corpus of real and fixture transcripts
 * (`/work/shared/corpus`, described in its `SOURCES.md`), damaged copies of its files, and a shared
 * set of tolerance tests (DESIGN §6). Used by the `*.test.ts` files of this folder only.
 *
 * @packageDocumentation
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import type {ExportSession, FormatAdapter, ParsedSession} from '../../../../src/session/format.ts'
import type {Session} from '../../../../src/session/types.ts'
import {BOM_DAMAGE, EMPTY_DAMAGE, TORN_DAMAGE, UTF8_DAMAGE} from './lines.ts'

/** The corpus directory: `$SESS_CORPUS_DIR`, else `shared/corpus` beside the repository. */
export const CORPUS_DIR = process.env.SESS_CORPUS_DIR ?? join(import.meta.dirname, '../../../../../shared/corpus')

/** The corpus files of one folder (e.g. `codex`), as paths relative to {@link CORPUS_DIR}, sorted. */
export function corpusFiles(folder: string): string[] {
  return readdirSync(join(CORPUS_DIR, folder))
    .sort()
    .map((name) => `${folder}/${name}`)
}

/** The bytes of a corpus file, by its path relative to {@link CORPUS_DIR}. */
export function readCorpus(file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(CORPUS_DIR, file)))
}

/** The text of a corpus file. */
export function corpusText(file: string): string {
  return new TextDecoder().decode(readCorpus(file))
}

/** The non-empty lines of a text with their 1-based line numbers. */
export function nonEmptyLines(text: string): {line: number; text: string}[] {
  return text.split('\n').flatMap((line, index) => (line.trim() === '' ? [] : [{line: index + 1, text: line}]))
}

/** The JSON values of the non-empty lines of a JSONL text, with their line numbers. */
export function jsonLines(text: string): {line: number; value: unknown}[] {
  return nonEmptyLines(text).map(({line, text: lineText}) => ({line, value: JSON.parse(lineText) as unknown}))
}

const encoder = new TextEncoder()

/** `bytes` with its 1-based `line` (without its newline) replaced by `replacement`. */
export function replaceLine(bytes: Uint8Array, line: number, replacement: Uint8Array | string): Uint8Array {
  const lines = splitBytes(bytes)
  lines[line - 1] = typeof replacement === 'string' ? encoder.encode(replacement) : replacement
  return joinBytes(lines)
}

/** `bytes` with the UTF-8 byte-order mark in front. */
export function withBom(bytes: Uint8Array): Uint8Array {
  return new Uint8Array([0xef, 0xbb, 0xbf, ...bytes])
}

/** `bytes` (ending in a newline) with the last line cut in half and no newline: a torn write. */
export function tornTail(bytes: Uint8Array): {bytes: Uint8Array; line: number} {
  const lines = splitBytes(bytes)
  while (lines.at(-1)?.length === 0) lines.pop()
  const last = lines.at(-1) ?? new Uint8Array()
  lines[lines.length - 1] = last.subarray(0, Math.floor(last.length / 2))
  const joined = joinBytes(lines)
  return {bytes: joined.subarray(0, joined.length - 1), line: lines.length}
}

function splitBytes(bytes: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = []
  let start = 0
  for (let end = bytes.indexOf(0x0a); end !== -1; end = bytes.indexOf(0x0a, start)) {
    lines.push(bytes.subarray(start, end))
    start = end + 1
  }
  if (start < bytes.length) lines.push(bytes.subarray(start))
  return lines
}

function joinBytes(lines: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(lines.flatMap((line) => [...line, 0x0a]))
}

/** A complete {@link Session} for export tests: defaults overridden by `fields`. */
export function sessionOf(fields: Partial<Session> = {}): Session {
  return {
    id: '01JTESTSESSION0000000000000',
    name: 'test-session',
    kind: 'agent',
    status: 'completed',
    mode: 'background',
    tags: [],
    title: null,
    model: null,
    provider: null,
    cwd: null,
    owner: null,
    parentId: null,
    format: null,
    externalId: null,
    createdAt: Date.UTC(2025, 0, 2, 3, 4, 5),
    lastActivityAt: Date.UTC(2025, 0, 2, 4, 4, 5),
    closedAt: null,
    trashedAt: null,
    recordCount: 0,
    bytes: 0,
    tokens: null,
    outputBytes: 0,
    versionCount: 0,
    pinned: false,
    ...fields,
  }
}

/** What an export adapter gets for a parsed original: its records and output, metadata from its meta. */
export function exportOf(parsed: ParsedSession, fields: Partial<Session> = {}): ExportSession {
  const {meta} = parsed
  const session = sessionOf({
    kind: parsed.kind,
    format: parsed.format,
    title: meta.title ?? null,
    model: meta.model ?? null,
    provider: meta.provider ?? null,
    cwd: meta.cwd ?? null,
    externalId: meta.externalId ?? null,
    recordCount: parsed.records.length,
    ...(meta.createdAt === undefined ? {} : {createdAt: meta.createdAt}),
    ...(meta.lastActivityAt === undefined ? {} : {lastActivityAt: meta.lastActivityAt}),
    ...fields,
  })
  return {session, records: parsed.records, output: parsed.output}
}

/** The parts of a parse that must survive damage elsewhere in the file. */
function content(parsed: ParsedSession): Pick<ParsedSession, 'records' | 'output' | 'meta'> {
  return {records: parsed.records, output: parsed.output, meta: parsed.meta}
}

/**
 * Defines the damage tests of DESIGN §6 for one JSONL original (at least 3 non-empty lines, ending
 * in a newline): a torn last line, a BOM, invalid UTF-8 in a middle line, a middle line of bad JSON,
 * an empty file. In each case the damage names the right line and reason, and everything else is
 * read as if the damaged line were blank.
 */
export function itSurvivesDamage(adapter: FormatAdapter, original: Uint8Array): void {
  const parse = (bytes: Uint8Array): ParsedSession => {
    if (adapter.parse === undefined) throw new Error(`${adapter.name} cannot parse`)
    return adapter.parse(bytes)
  }
  const lines = nonEmptyLines(new TextDecoder().decode(original))
  const middle = lines[Math.floor(lines.length / 2)]?.line ?? 2
  const blanked = (line: number): ParsedSession => parse(replaceLine(original, line, ''))

  it('reads the original without damage', () => {
    expect(lines.length).toBeGreaterThanOrEqual(3)
    expect(parse(original).damage).toEqual([])
  })

  it('survives a torn last line', () => {
    const torn = tornTail(original)
    const parsed = parse(torn.bytes)
    expect(parsed.damage).toEqual([{line: torn.line, reason: TORN_DAMAGE}])
    expect(content(parsed)).toEqual(content(blanked(torn.line)))
  })

  it('survives a UTF-8 byte-order mark', () => {
    const parsed = parse(withBom(original))
    expect(parsed.damage).toEqual([{line: 1, reason: BOM_DAMAGE}])
    expect(content(parsed)).toEqual(content(parse(original)))
  })

  it(`survives invalid UTF-8 on line ${middle}`, () => {
    const parsed = parse(replaceLine(original, middle, new Uint8Array([0xff, 0xfe])))
    expect(parsed.damage).toEqual([{line: middle, reason: UTF8_DAMAGE}])
    expect(content(parsed)).toEqual(content(blanked(middle)))
    expect(parsed.records.length + parsed.output.length).toBeGreaterThan(0)
  })

  it(`survives bad JSON on line ${middle}`, () => {
    const parsed = parse(replaceLine(original, middle, '{"type": oops}'))
    expect(parsed.damage).toHaveLength(1)
    expect(parsed.damage[0]?.line).toBe(middle)
    expect(parsed.damage[0]?.reason).toMatch(/^invalid JSON: /)
    expect(content(parsed)).toEqual(content(blanked(middle)))
  })

  it('reports an empty file', () => {
    const parsed = parse(new Uint8Array())
    expect(parsed.records).toEqual([])
    expect(parsed.output).toEqual([])
    expect(parsed.damage).toEqual([{line: null, reason: EMPTY_DAMAGE}])
  })
}
