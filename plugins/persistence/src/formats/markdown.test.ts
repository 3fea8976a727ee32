import {describe, expect, it} from 'vitest'
import type {ExportSession, FormatAdapter} from '../../../../src/session/format.ts'
import type {SessionRecord} from '../../../../src/session/types.ts'
import {asciicastFormat} from './asciicast.ts'
import {claudeCodeFormat} from './claude-code.ts'
import {markdownFormat, stripAnsi} from './markdown.ts'
import {messageText} from './meta.ts'
import {exportOf, readCorpus, sessionOf} from './testing.ts'

const render = (session: ExportSession): string => new TextDecoder().decode(markdownFormat.serialize?.(session))
const exportFile = (file: string, adapter: FormatAdapter): ExportSession => {
  const parsed = adapter.parse?.(readCorpus(file))
  if (parsed === undefined) throw new Error(`cannot parse ${file}`)
  return exportOf(parsed)
}

describe('markdown: agent transcripts', () => {
  for (const file of ['claude-code/agent-history-compaction.jsonl', 'claude-code/simonw-sample-session.json']) {
    const exported = exportFile(file, claudeCodeFormat)
    const markdown = render(exported)

    it(`holds every message text, tool call and marker of ${file}`, () => {
      expect(markdown.startsWith(`# ${exported.session.title ?? ''}\n`)).toBe(true)
      expect(markdown).toContain(`- **Format:** claude-code`)
      for (const record of exported.records) {
        if (record.type === 'message') {
          expect(markdown).toContain(`## ${record.role}`)
          expect(markdown).toContain(messageText(record))
        }
        if (record.type === 'tool_call') expect(markdown).toContain(`### Tool call: ${record.name}`)
        if (record.type === 'tool_result' && typeof record.result === 'string') expect(markdown).toContain(record.result)
        if (record.type === 'marker') expect(markdown).toContain(`---\n\n*${record.label}*`)
      }
    })
  }

  it('puts thinking in a details block and a summary in a quote', () => {
    const simonw = render(exportFile('claude-code/simonw-sample-session.json', claudeCodeFormat))
    expect(simonw).toContain('<details>\n<summary>Thinking</summary>\n\nThe user wants a simple addition function.')
    const compaction = render(exportFile('claude-code/agent-history-compaction.jsonl', claudeCodeFormat))
    expect(compaction).toContain('> **Summary:** Previous conversation summary:')
  })

  it('fences tool data with more backticks than it holds, and marks errors', () => {
    const records: SessionRecord[] = [{type: 'tool_call', name: 'Bash', args: {command: 'echo'}, result: 'a ``` fence', isError: true}]
    const markdown = render({session: sessionOf(), records, output: []})
    expect(markdown).toContain('### Tool call: Bash\n\n```json\n{\n  "command": "echo"\n}\n```')
    expect(markdown).toContain('Result (error):\n\n````text\na ``` fence\n````')
  })
})

describe('markdown: terminal sessions', () => {
  it('renders the output as one text block without escape sequences', () => {
    const markdown = render(exportFile('asciicast/player-resizing.cast', asciicastFormat))
    expect(markdown).toContain('## Terminal output\n\n```text\nhello world!\n```')
    const theme = render(exportFile('asciicast/player-theme.cast', asciicastFormat))
    expect(theme).not.toContain('\u001b')
    expect(theme).toContain('◆▋\ue0b0')
  })

  it('strips CSI, OSC and control characters, and turns CR into newlines', () => {
    expect(stripAnsi('\u001b[1;31mred\u001b[0m\r\n\u001b]0;title\u0007ok\rthere\u0007')).toBe('red\nok\nthere')
  })
})
