import {describe, expect, it} from 'vitest'
import {snippet} from './snippet.ts'
import {recordText} from './text.ts'

const marked = ({highlights, text}: {highlights: Array<[number, number]>; text: string}) => highlights.map(([start, end]) => text.slice(start, end))

describe('snippet', () => {
  it('marks the wanted words, folded, on one line', () => {
    const result = snippet('The Café\n\nis  open', new Set(['cafe', 'open']))
    expect(result.text).toBe('The Café is open')
    expect(marked(result)).toEqual(['Café', 'open'])
  })

  it('cuts long text around the stretch with the most wanted words', () => {
    const filler = (n: number) => Array.from({length: n}, (_, i) => `w${i}`).join(' ')
    const result = snippet(`${filler(50)} alpha ${filler(50)} alpha beta ${filler(50)}`, new Set(['alpha', 'beta']))
    expect(result.text.startsWith('…')).toBe(true)
    expect(result.text.endsWith('…')).toBe(true)
    expect(marked(result)).toEqual(['alpha', 'beta'])
  })

  it('gives the beginning when nothing matches', () => {
    expect(snippet('nothing here', new Set(['x']))).toEqual({highlights: [], text: 'nothing here'})
  })
})

describe('recordText', () => {
  it('indexes text parts, tool names, the strings of arguments and results, labels and events; not data parts, keys or numbers', () => {
    expect(recordText({parts: [{text: 'hi', type: 'text'}, {text: 'hmm', type: 'thinking'}, {data: 'aGk=', type: 'data'}], role: 'user', type: 'message'})).toBe('hi\nhmm')
    expect(recordText({args: {file_path: 'a.py', limit: 20, opts: ['x']}, name: 'Read', result: {ok: 'done'}, type: 'tool_call'})).toBe('Read\na.py\nx\ndone')
    expect(recordText({result: 'output', type: 'tool_result'})).toBe('output')
    expect(recordText({label: 'compaction', type: 'marker'})).toBe('compaction')
    expect(recordText({data: {summary: 'text'}, name: 'summary', type: 'event'})).toBe('summary\ntext')
    expect(recordText({state: {model: 'gpt'}, type: 'state'})).toBe('gpt')
  })
})
