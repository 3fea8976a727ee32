import {InvalidInputError} from '../errors/index.ts'
import {foldWord, words} from './text.ts'

/** A term of a query: words that must appear together, in this order (a lone word is a term of one). */
export interface SearchTerm {
  /** The words, as typed (not yet folded). */
  words: string[]
  /** Whether the user quoted it (`"login bug"`); an unquoted `read_file` is a term of two words too. */
  quoted: boolean
}

/** A parsed query: every term must match (AND). */
export interface ParsedQuery {
  terms: SearchTerm[]
  /** Every word of every term, in order: the whole query as one phrase, the hits ranked first. */
  phrase: string[]
}

/**
 * Parses the user's query syntax of `sess search` and `store.search()`:
 * - words separated by white space must all match, anywhere in a record (AND);
 * - `"a quoted phrase"` must match as those words in that order (an unclosed quote runs to the end);
 * - case and diacritics never matter (`CAFÉ` finds `cafe`);
 * - anything other than letters and digits separates words, so `read_file` or `src/auth.py`
 *   match as phrases of their words (`read file`, `src auth py`), and no character is an
 *   operator: `-`, `*`, `:`, `^`, parentheses, `AND`, `OR`, `NOT`, `NEAR` are searched for as
 *   written, or ignored when they are not letters or digits.
 *
 * @throws {InvalidInputError} when the query holds no word at all (only spaces or punctuation).
 * @example
 * ```ts
 * parseQuery('"login bug" auth').terms // [{words: ['login', 'bug'], quoted: true}, {words: ['auth'], quoted: false}]
 * ```
 */
export function parseQuery(query: string): ParsedQuery {
  const terms: SearchTerm[] = []
  for (const chunk of String(query).matchAll(CHUNK)) {
    const quoted = chunk[1] !== undefined
    const found = [...words(chunk[1] ?? chunk[2] ?? '')].map((w) => w.word)
    if (found.length > 0) terms.push({quoted, words: found})
  }
  if (terms.length === 0) {
    throw new InvalidInputError(`The query ${JSON.stringify(query)} has no word to search for.`, {hint: 'Search for letters or digits: sess search WORD… or sess search \'"a phrase"\'.'})
  }
  return {phrase: terms.flatMap((term) => term.words), terms}
}

/** The words of a query folded as the index folds them (see `foldWord`), for highlighting. */
export function foldedWords(query: ParsedQuery): Set<string> {
  return new Set(query.phrase.map(foldWord))
}

/** A quoted run (to the closing quote or the end), else a run without white space or quotes. */
const CHUNK = /"([^"]*)"?|([^\s"]+)/g
