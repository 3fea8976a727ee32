import {InvalidInputError} from '../errors/index.ts'

const SESSION_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/

/** Whether `ref` is a session id as sess makes them: a ULID (26 Crockford base-32 characters). */
export function isSessionId(ref: string): boolean {
  return SESSION_ID.test(ref)
}

/** Longest session name, in characters (DESIGN §2). */
export const MAX_NAME_LENGTH = 64

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/** The first character a name may not hold (anything outside `[A-Za-z0-9._-]`), if any. */
const FORBIDDEN = /[^A-Za-z0-9._-]/u

/**
 * Validates a session name: 1–64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit
 * (DESIGN §2), and not shaped like a session id (a ULID), which `sess show` and every other
 * command would look up as an id. Names are labels, never paths: this pattern rules out `/`, `..`
 * as a whole name, NUL and anything a shell or file system would read specially.
 *
 * Names are ASCII, so no two names can look alike through Unicode: `café` is refused whether its
 * `é` is one code point (NFC) or `e` and a combining accent (NFD), as are other scripts' look-alikes
 * of Latin letters. Names are case-sensitive (`Chat` and `chat` are two sessions, as git branch
 * names are on Linux): they never become file names, so no file system folds them together.
 *
 * @throws {InvalidInputError} naming what is wrong (the first character not allowed, or the length
 *   in characters) and how to fix it.
 */
export function assertValidName(name: string): string {
  const hint = 'A name starts with a letter or digit and holds only A–Z a–z 0–9 . _ - (ASCII: no accents, slashes, spaces or control characters).'
  if (name.length === 0) throw new InvalidInputError('A session name cannot be empty.', {hint: 'Use 1–64 of A–Z a–z 0–9 . _ -'})
  const forbidden = FORBIDDEN.exec(name)?.[0]
  if (forbidden !== undefined) {
    const codePoint = `U+${forbidden.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
    throw new InvalidInputError(`Invalid session name ${JSON.stringify(name)}: ${JSON.stringify(forbidden)} (${codePoint}) is not allowed.`, {hint})
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidInputError(`The session name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}.`, {
      hint: 'Choose a shorter name.',
    })
  }
  if (!NAME_PATTERN.test(name)) throw new InvalidInputError(`Invalid session name ${JSON.stringify(name)}: it must start with a letter or digit.`, {hint})
  if (isSessionId(name)) {
    throw new InvalidInputError(`Invalid session name ${JSON.stringify(name)}: it has the shape of a session id (a ULID), so commands would look it up as an id.`, {
      hint: 'Choose a name that is not 26 characters of Crockford base 32 (add a prefix such as s-).',
    })
  }
  return name
}

/**
 * Turns arbitrary text (a file name, a title) into a valid session name, or `undefined` when
 * nothing usable is left (or only the shape of a session id). Used for names of imported
 * sessions. Accents are folded away (NFKD, then everything outside `[A-Za-z0-9._-]` becomes
 * `-`), so `café` written in NFC and in NFD both give `cafe`.
 */
export function toSessionName(text: string): string | undefined {
  const cleaned = text
    .normalize('NFKD')
    .replaceAll(/\p{M}+/gu, '')
    .replaceAll(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/[-.]+$/, '')
  return cleaned.length > 0 && !isSessionId(cleaned) ? cleaned : undefined
}
