import {foldWord, words} from './text.ts'

/** A piece of a record's text around what matched. */
export interface Snippet {
  /** One line: white space collapsed, `…` where text was left out. */
  text: string
  /** The matched words within `text`: `[start, end)` offsets in UTF-16 code units (JavaScript string indices). */
  highlights: Array<[number, number]>
}

/** Words in a snippet (about FTS5 `snippet()`'s usual size). */
const WINDOW = 24
/** Words kept before the first match in the window. */
const LEAD = 6
/** A snippet stops growing past this many characters; one word or separator is clipped to it. */
const MAX_CHARS = 240
const MAX_SEPARATOR = 16

/**
 * The snippet of `text` for a query whose folded words are `wanted` (see `foldedWords`): the
 * stretch of {@link WINDOW} words holding the most distinct wanted words (the first such), with
 * those words marked. Text without any wanted word gives its beginning, nothing marked.
 */
export function snippet(text: string, wanted: ReadonlySet<string>): Snippet {
  const all = [...words(text)]
  const hit = all.map((w) => wanted.has(foldWord(w.word)))
  let best = 0
  let bestCount = 0
  for (let i = 0; i < all.length; i++) {
    if (!hit[i]) continue
    const start = Math.max(0, i - LEAD)
    const distinct = new Set<string>()
    for (let j = start; j < Math.min(all.length, start + WINDOW); j++) if (hit[j]) distinct.add(foldWord(all[j]!.word))
    if (distinct.size > bestCount) [best, bestCount] = [start, distinct.size]
  }
  let out = best > 0 ? '…' : ''
  const highlights: Array<[number, number]> = []
  let end = best
  for (; end < Math.min(all.length, best + WINDOW) && out.length < MAX_CHARS; end++) {
    const w = all[end]!
    if (end > best) out += clip(text.slice(all[end - 1]!.end, w.start).replaceAll(/\s+/g, ' '), MAX_SEPARATOR)
    const word = clip(w.word, MAX_CHARS)
    if (hit[end]) highlights.push([out.length, out.length + word.length])
    out += word
  }
  if (end < all.length) out += '…'
  return {highlights, text: out}
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
