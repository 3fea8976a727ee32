import {InvalidInputError} from '../errors/index.ts'

const SESSION_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/

/** Whether `ref` is a session id as sess makes them: a ULID (26 Crockford base-32 characters). */
export function isSessionId(ref: string): boolean {
  return SESSION_ID.test(ref)
}

/** Longest session name, in characters (DESIGN §2). */
export const MAX_NAME_LENGTH = 64

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * Validates a session name: 1–64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit
 * (DESIGN §2). Names are labels, never paths: this pattern rules out `/`, `..` as a whole name,
 * NUL and anything a shell or file system would read specially.
 *
 * @throws {InvalidInputError} naming what is wrong and how to fix it.
 */
export function assertValidName(name: string): string {
  if (name.length === 0) throw new InvalidInputError('A session name cannot be empty.', {hint: 'Use 1–64 of A–Z a–z 0–9 . _ -'})
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidInputError(`The session name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}.`, {
      hint: 'Choose a shorter name.',
    })
  }
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidInputError(`Invalid session name ${JSON.stringify(name)}.`, {
      hint: 'A name starts with a letter or digit and holds only A–Z a–z 0–9 . _ - (no slashes, spaces or control characters).',
    })
  }
  return name
}

/**
 * Turns arbitrary text (a file name, a title) into a valid session name, or `undefined` when
 * nothing usable is left. Used for names of imported sessions.
 */
export function toSessionName(text: string): string | undefined {
  const cleaned = text
    .normalize('NFKD')
    .replaceAll(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/[-.]+$/, '')
  return cleaned.length > 0 ? cleaned : undefined
}
