import type {ExportSession, FormatAdapter} from '../../../../src/session/format.ts'
import type {MessageRecord, OutputEvent, Session, SessionRecord} from '../../../../src/session/types.ts'
import {deeperThan} from './json.ts'

/**
 * A readable Markdown transcript (DESIGN §3, `sess restore --format markdown`); export only.
 *
 * Layout: `# <title or name>`, a bullet list of metadata, then each record in order: a message as
 * `## <role>` and its text, thinking in a `<details>` block, data parts as a placeholder; a tool
 * call as `### Tool call: <name>` with its arguments in a `json` fence (indented, unless nested
 * deeper than 32 levels) and its result (if any) in a fence; a tool result as `### Tool result`;
 * a marker as a horizontal rule and the label in italics; `summary` events as a quote; other
 * events and state changes are left out. A terminal session's output (`o` and `e` events)
 * follows as one `text` fence with ANSI escape sequences and other control characters removed.
 * Fences are longer than any backtick run they enclose.
 */
export const markdownFormat: FormatAdapter = {
  name: 'markdown',
  description: 'Markdown transcript (export only)',
  extension: '.md',
  serialize,
}

const encoder = new TextEncoder()

/** ANSI/VT escape sequences: CSI, OSC (ended by BEL or ST), charset selections and two-byte escapes. */
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[()*+][0-9A-Za-z]|\u001b[@-_]/g
/** C0 control characters other than tab and newline, and DEL. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g

/** `text` without ANSI escape sequences and control characters; `\r\n` and a lone `\r` become `\n`. */
export function stripAnsi(text: string): string {
  return text.replaceAll(ANSI, '').replaceAll(/\r\n?/g, '\n').replaceAll(CONTROL, '')
}

/** `text` in a fenced code block, the fence one backtick longer than the longest run inside (at least 3). */
function fenced(text: string, language = ''): string {
  let longest = 0
  for (const run of text.matchAll(/`+/g)) longest = Math.max(longest, run[0].length)
  const fence = '`'.repeat(Math.max(3, longest + 1))
  return `${fence}${language}\n${text.endsWith('\n') ? text : `${text}\n`}${fence}`
}

/**
 * Nesting (levels) past which a JSON value is written compact instead of indented: indentation
 * grows with depth, so an indented value 1,000 levels deep would be about 1,000 times the size of
 * its JSON (quadratic in its depth).
 */
const INDENT_DEPTH = 32

/** `value` as JSON in a fence: indented two spaces, or compact when it nests deeper than {@link INDENT_DEPTH}. */
function jsonBlock(value: unknown): string {
  return fenced(JSON.stringify(value, null, deeperThan(value, INDENT_DEPTH) ? undefined : 2) ?? 'null', 'json')
}

/** A result or argument value: strings as text, anything else as JSON ({@link jsonBlock}). */
function valueBlock(value: unknown): string {
  return typeof value === 'string' ? fenced(value, 'text') : jsonBlock(value)
}

function metadata(session: Session): string {
  const date = (ms: number): string => new Date(ms).toISOString()
  const rows: [string, string | null][] = [
    ['Session', `${session.name} (\`${session.id}\`)`],
    ['Kind', session.kind],
    ['Status', session.status],
    ['Format', session.format],
    ['Model', session.model === null ? null : `${session.model}${session.provider === null ? '' : ` (${session.provider})`}`],
    ['Working directory', session.cwd === null ? null : `\`${session.cwd}\``],
    ['Created', date(session.createdAt)],
    ['Last activity', date(session.lastActivityAt)],
    ['Tags', session.tags.length > 0 ? session.tags.join(', ') : null],
  ]
  return rows.flatMap(([label, value]) => (value === null ? [] : [`- **${label}:** ${value}`])).join('\n')
}

function message(record: MessageRecord): string {
  const body = record.parts.map((part) => {
    if (part.type === 'text') return part.text
    if (part.type === 'thinking') return `<details>\n<summary>Thinking</summary>\n\n${part.text}\n\n</details>`
    return `*[data${part.mime === undefined ? '' : `: ${part.mime}`}]*`
  })
  return [`## ${record.role}`, ...body].join('\n\n')
}

function recordBlock(record: SessionRecord): string | undefined {
  switch (record.type) {
    case 'message':
      return message(record)
    case 'tool_call': {
      const call = [`### Tool call: ${record.name}`, jsonBlock(record.args)]
      if (record.result !== undefined) call.push(`Result${record.isError === true ? ' (error)' : ''}:`, valueBlock(record.result))
      return call.join('\n\n')
    }
    case 'tool_result':
      return [`### Tool result${record.isError === true ? ' (error)' : ''}`, valueBlock(record.result)].join('\n\n')
    case 'marker':
      return `---\n\n*${record.label}*`
    case 'event':
      return record.name === 'summary' && typeof record.data === 'string' ? `> **Summary:** ${record.data.replaceAll('\n', '\n> ')}` : undefined
    case 'state':
      return undefined
  }
}

function terminalOutput(output: readonly OutputEvent[]): string | undefined {
  const text = output.flatMap((event) => (event.code === 'o' || event.code === 'e' ? [event.data] : [])).join('')
  return text === '' ? undefined : `## Terminal output\n\n${fenced(stripAnsi(text), 'text')}`
}

/** Renders `session` as a Markdown transcript (see {@link markdownFormat}), UTF-8. */
function serialize({session, records, output}: ExportSession): Uint8Array {
  const blocks = [`# ${session.title ?? session.name}`, metadata(session), ...records.map(recordBlock), terminalOutput(output)]
  return encoder.encode(`${blocks.filter((block) => block !== undefined).join('\n\n')}\n`)
}
