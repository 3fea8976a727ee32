import {InvalidInputError} from '../errors/index.ts'

/** Default bound of a session's output buffer, in bytes (DESIGN §2): 10 MiB. */
export const DEFAULT_OUTPUT_LIMIT = 10 * 1024 * 1024

/** The environment variable that sets the store-wide output-buffer bound (a size, see {@link parseByteSize}). */
export const OUTPUT_LIMIT_ENV = 'SESS_OUTPUT_LIMIT'

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
}

/**
 * A size in bytes from text: a whole number of bytes (`4096`), or a number with a unit: `B`,
 * `KiB`/`K` (1024), `MiB`/`M`, `GiB`/`G`, or the decimal `kB`, `MB`, `GB` (case-insensitive;
 * `1.5MiB`, `512 KiB`).
 *
 * @param what names the value in the error (`--buffer-limit`, `SESS_OUTPUT_LIMIT`).
 * @returns whole bytes, at least 1.
 * @throws {InvalidInputError} when `text` is not such a size, or is below 1 byte.
 */
export function parseByteSize(what: string, text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new InvalidInputError(`${what} ${JSON.stringify(text)} is not a size.`, {hint: 'Give bytes (65536) or a size with a unit: 512KiB, 10MiB, 1GiB.'})
  }
  return bytes
}

/**
 * Checks an output-buffer bound given in code.
 *
 * @throws {InvalidInputError} unless `bytes` is a safe integer ≥ 1.
 */
export function assertOutputLimit(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new InvalidInputError(`An output buffer bound must be a whole number of bytes ≥ 1, not ${bytes}.`)
  return bytes
}
