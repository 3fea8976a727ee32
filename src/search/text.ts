import type {SessionRecord} from '../session/types.ts'

/**
 * The searchable text of a record, the one thing the full-text index sees of it:
 * - `message`: its `text` and `thinking` parts (not `data` parts: images, blobs);
 * - `tool_call`: the tool's name, then every string in its arguments and its result;
 * - `tool_result`: every string in its result;
 * - `marker`: its label; `event`: its name and every string in its data; `state`: every string in it.
 *
 * Strings are gathered depth first, object keys and numbers left out (`{"file_path": "a.py",
 * "limit": 20}` gives `a.py`); pieces are joined by newlines. Ids, `meta` and other bookkeeping
 * are never indexed. A record with none of these gives `''`.
 */
export function recordText(record: SessionRecord): string {
  switch (record.type) {
    case 'message':
      return record.parts.flatMap((part) => (part.type === 'data' ? [] : [part.text])).join('\n')
    case 'tool_call':
      return [record.name, ...strings(record.args), ...strings(record.result)].join('\n')
    case 'tool_result':
      return strings(record.result).join('\n')
    case 'marker':
      return record.label
    case 'event':
      return [record.name, ...strings(record.data)].join('\n')
    case 'state':
      return strings(record.state).join('\n')
  }
}

/** Every string inside a JSON value, depth first (keys and numbers left out). */
function strings(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value)
  else if (Array.isArray(value)) for (const item of value) strings(item, into)
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) strings(item, into)
  return into
}

/**
 * A word for matching, folded as the index folds it (SQLite FTS5 `unicode61 remove_diacritics 2`):
 * lower case, diacritics removed (NFD, combining marks dropped). `Café` and `CAFE` give `cafe`.
 */
export function foldWord(word: string): string {
  return word.normalize('NFD').replaceAll(/\p{M}/gu, '').toLowerCase()
}

/**
 * The words of `text` as the index's tokenizer splits them: maximal runs of letters, digits
 * (and private-use characters, with the marks that follow them); anything else separates. Each
 * with its UTF-16 offsets in `text`.
 */
export function* words(text: string): Generator<{word: string; start: number; end: number}> {
  for (const match of text.matchAll(WORD)) yield {end: match.index + match[0].length, start: match.index, word: match[0]}
}

const WORD = /[\p{L}\p{N}\p{Co}][\p{L}\p{N}\p{Co}\p{M}]*/gu
