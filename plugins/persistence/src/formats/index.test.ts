import {describe, expect, it} from 'vitest'
import type {FormatAdapter} from '../../../../src/session/format.ts'
import {builtinFormats, detectFormat, findFormat} from './index.ts'
import {sniff} from './lines.ts'
import {RAW_FORMAT} from './raw.ts'
import {corpusFiles, readCorpus} from './testing.ts'

/** The format each corpus folder holds (see corpus/SOURCES.md). */
const EXPECTED: Record<string, string> = {
  'claude-code': 'claude-code',
  codex: 'codex',
  'gemini-cli': 'gemini-cli',
  asciicast: 'asciicast',
  other: RAW_FORMAT,
}

describe('detectFormat over the corpus', () => {
  for (const [folder, format] of Object.entries(EXPECTED)) {
    for (const file of corpusFiles(folder)) {
      it(`detects ${file} as ${format} and reads it without damage`, () => {
        const input = sniff(readCorpus(file), file)
        const detected = detectFormat(input, builtinFormats, {allowRaw: true})
        expect(detected?.adapter.name).toBe(format)
        const parsed = detected?.adapter.parse?.(input.bytes, file)
        expect(parsed?.format).toBe(format)
        expect(parsed?.damage).toEqual([])
        const others = builtinFormats.filter((adapter) => adapter.name !== format && adapter.name !== RAW_FORMAT)
        for (const other of others) expect(other.detect?.(input) ?? 0, other.name).toBeLessThan(detected?.confidence ?? 0)
      })
    }
  }

  it('picks raw only when allowed, and never above a real format', () => {
    const [pi] = corpusFiles('other')
    const input = sniff(readCorpus(pi ?? ''))
    expect(detectFormat(input, builtinFormats, {allowRaw: false})).toBeUndefined()
    expect(detectFormat(input, builtinFormats, {allowRaw: true})).toMatchObject({confidence: 1})
    for (const adapter of builtinFormats) {
      if (adapter.name !== RAW_FORMAT) expect(adapter.detect?.(input) ?? 0, adapter.name).toBe(0)
    }
    const codex = sniff(readCorpus('codex/agent-history-session-01.jsonl'))
    expect(detectFormat(codex, builtinFormats, {allowRaw: false})?.adapter.name).toBe('codex')
  })

  it('detects nothing in an empty file or in text that is not JSON', () => {
    expect(detectFormat(sniff(new Uint8Array()), builtinFormats, {allowRaw: true})).toBeUndefined()
    expect(detectFormat(sniff(new TextEncoder().encode('just text\n')), builtinFormats, {allowRaw: true})).toBeUndefined()
  })

  it('counts an adapter whose detect throws as not matching', () => {
    const throwing: FormatAdapter = {
      name: 'throws',
      description: 'test',
      extension: '.x',
      detect: () => {
        throw new Error('boom')
      },
    }
    const input = sniff(readCorpus('codex/agent-history-session-01.jsonl'))
    expect(detectFormat(input, [throwing, ...builtinFormats], {allowRaw: false})?.adapter.name).toBe('codex')
  })
})

describe('builtinFormats', () => {
  it('has unique names, each found by findFormat', () => {
    const names = builtinFormats.map(({name}) => name)
    expect(new Set(names).size).toBe(names.length)
    for (const adapter of builtinFormats) expect(findFormat(adapter.name, builtinFormats)).toBe(adapter)
    expect(findFormat('nope', builtinFormats)).toBeUndefined()
  })

  it('can export sess JSONL, asciicast and Markdown (DESIGN §3 restore --format)', () => {
    for (const name of ['sess', 'asciicast', 'markdown']) expect(findFormat(name, builtinFormats)?.serialize).toBeTypeOf('function')
  })
})
