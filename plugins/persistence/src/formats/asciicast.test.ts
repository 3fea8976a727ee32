import {describe, expect, it} from 'vitest'
import type {OutputEvent, SessionRecord} from '../../../../src/session/types.ts'
import {asciicastFormat, DEFAULT_SIZE, serializeV3} from './asciicast.ts'
import type {JsonObject} from './json.ts'
import {corpusFiles, corpusText, exportOf, itSurvivesDamage, jsonLines, readCorpus, sessionOf} from './testing.ts'

const parse = (bytes: Uint8Array) => {
  const parsed = asciicastFormat.parse?.(bytes)
  if (parsed === undefined) throw new Error('asciicast cannot parse')
  return parsed
}
const serialize = asciicastFormat.serialize ?? (() => new Uint8Array())
const encode = (text: string) => new TextEncoder().encode(text)
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

type Event = [number, string, string]

/** A cast's header and events as the file holds them. */
function castOf(file: string): {header: JsonObject; events: Event[]} {
  const [header, ...events] = jsonLines(corpusText(file)).map(({value}) => value)
  return {header: header as JsonObject, events: events as Event[]}
}

describe('asciicast: corpus recordings', () => {
  for (const file of corpusFiles('asciicast')) {
    describe(file, () => {
      const {header, events} = castOf(file)
      const parsed = parse(readCorpus(file))

      it('reads every event with absolute times', () => {
        expect(parsed.damage).toEqual([])
        expect(parsed.kind).toBe('terminal')
        expect(parsed.output.map(({code, data}) => [code, data])).toEqual(events.map(([, code, data]) => [code, data]))
        let sum = 0
        const expected = events.map(([time]) => (header.version === 3 ? (sum += time) : time))
        expect(parsed.output).toHaveLength(expected.length)
        for (const [index, event] of parsed.output.entries()) expect(event.time).toBeCloseTo(expected[index] ?? Number.NaN, 6)
      })

      it('keeps the header as a state record with the terminal size', () => {
        const term = header.term as {cols: number; rows: number} | undefined
        expect(parsed.records).toEqual([{type: 'state', state: {...header, width: term?.cols ?? header.width, height: term?.rows ?? header.height}, line: 1}])
      })

      it('writes v2 and v3 that read back to the same events', () => {
        const session = exportOf(parsed, {kind: 'terminal'})
        expect(parse(serialize(session)).output).toEqual(parsed.output.filter((event) => event.code !== 'x')) // v2 has no exit events
        expect(parse(serializeV3(session)).output).toEqual(parsed.output)
      })
    })
  }
})

describe('asciicast: v3 intervals', () => {
  it('sums the intervals of player-resizing.cast into seconds since the start', () => {
    const parsed = parse(readCorpus('asciicast/player-resizing.cast'))
    expect(parsed.output.map(({time}) => time)).toEqual([0.5, 1, 1.5, 2, 2.1, 2.1])
  })

  it('skips comment lines', () => {
    const parsed = parse(encode('{"version": 3, "term": {"cols": 4, "rows": 2}}\n# a comment\n[1.5, "o", "a"]\n'))
    expect(parsed.damage).toEqual([])
    expect(parsed.output).toEqual([{time: 1.5, code: 'o', data: 'a'}])
  })
})

describe('asciicast: damage', () => {
  itSurvivesDamage(asciicastFormat, readCorpus('asciicast/player-markers-input.cast'))

  describe('v3', () => {
    itSurvivesDamage(asciicastFormat, readCorpus('asciicast/player-resizing.cast'))
  })

  it('keeps events whose time goes back at the previous time', () => {
    const parsed = parse(encode('{"version": 2, "width": 80, "height": 24}\n[-1, "o", "a"]\n[2, "o", "b"]\n[1, "o", "c"]\n'))
    expect(parsed.output.map(({time}) => time)).toEqual([0, 2, 2])
    expect(parsed.damage.map(({line}) => line)).toEqual([2, 4])
    const v3 = parse(encode('{"version": 3, "term": {"cols": 80, "rows": 24}}\n[1, "o", "a"]\n[-0.5, "o", "b"]\n'))
    expect(v3.output.map(({time}) => time)).toEqual([1, 1])
    expect(v3.damage).toEqual([{line: 3, reason: 'negative interval -0.5; counted as 0'}])
  })

  it('skips events that are malformed or of an unknown code', () => {
    const parsed = parse(encode('{"version": 2, "width": 80, "height": 24}\n[1, "o"]\n{"x": 1}\n[1, "z", "?"]\n[2, "o", "ok"]\n'))
    expect(parsed.output).toEqual([{time: 2, code: 'o', data: 'ok'}])
    expect(parsed.damage).toEqual([
      {line: 2, reason: 'not an asciicast event ([time, code, data])'},
      {line: 3, reason: 'not an asciicast event ([time, code, data])'},
      {line: 4, reason: 'unsupported event code "z"'},
    ])
  })

  it('reads events without a header as v2 and says so', () => {
    const parsed = parse(encode('[1, "o", "a"]\n'))
    expect(parsed.output).toEqual([{time: 1, code: 'o', data: 'a'}])
    expect(parsed.records).toEqual([])
    expect(parsed.damage).toHaveLength(1)
    expect(parsed.damage[0]?.line).toBe(1)
  })
})

describe('asciicast: serialize', () => {
  const output: OutputEvent[] = [
    {time: 0.1234567, code: 'o', data: 'out'},
    {time: 0.5, code: 'e', data: 'err'},
    {time: 1, code: 'x', data: '0'},
  ]

  it('writes a v2 header and [time, code, data] lines like asciinema, without the v3-only exit event', () => {
    const session = sessionOf({title: 'Demo', createdAt: 1_700_000_000_500})
    const [header, ...lines] = decode(serialize({session, records: [], output})).trimEnd().split('\n')
    expect(JSON.parse(header ?? '')).toEqual({version: 2, ...DEFAULT_SIZE, timestamp: 1_700_000_000, title: 'Demo'})
    expect(lines).toEqual(['[0.123457,"o","out"]', '[0.5,"o","err"]'])
  })

  it('writes v3 intervals', () => {
    const lines = decode(serializeV3({session: sessionOf(), records: [], output})).trimEnd().split('\n')
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({version: 3, term: {cols: 80, rows: 24}})
    expect(lines.slice(1)).toEqual(['[0.123457,"o","out"]', '[0.376543,"o","err"]', '[0.5,"x","0"]'])
  })

  it('takes the size from a resize before the first output, else from a state record', () => {
    const state: SessionRecord = {type: 'state', state: {width: 100, height: 30}}
    const sized = (records: SessionRecord[], events: OutputEvent[]) => JSON.parse(decode(serialize({session: sessionOf(), records, output: events})).split('\n')[0] ?? '') as JsonObject
    expect(sized([state], [{time: 0, code: 'r', data: '120x40'}, ...output])).toMatchObject({width: 120, height: 40})
    expect(sized([state], [...output, {time: 2, code: 'r', data: '120x40'}])).toMatchObject({width: 100, height: 30})
    expect(sized([], output)).toMatchObject(DEFAULT_SIZE)
  })
})
