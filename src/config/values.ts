import ms from 'ms'
import {describeUrl, isPostgresUrl} from '../db/postgres.ts'
import {InvalidInputError} from '../errors/index.ts'
import {parseByteSize} from '../store/output-limit.ts'

/** The types a setting's value can have; each has one text syntax (see {@link parseSettingValue}). */
export type SettingType = 'duration' | 'duration-or-off' | 'count' | 'size' | 'boolean' | 'postgres-url'

/** What a value of each {@link SettingType} reads as: durations and sizes as numbers (ms, bytes). */
export type SettingValue<T extends SettingType> = T extends 'boolean' ? boolean : T extends 'postgres-url' ? string : T extends 'duration-or-off' ? number | null : number

const BOOLEANS: Readonly<Record<string, boolean>> = {false: false, no: false, off: false, '0': false, true: true, yes: true, on: true, '1': true}

/**
 * Parses a setting's text as its type:
 * - `duration`: a number of seconds (`90`, `2.5`) or a number with a unit of the `ms` package
 *   (`500ms`, `30s`, `12h`, `30d`); returns whole ms;
 * - `duration-or-off`: a duration, or `off` (returns `null`: never);
 * - `count`: a whole number ≥ 0;
 * - `size`: bytes or a size with a unit (`512KiB`, `5GiB`, `500MB`; see `parseByteSize`); returns bytes ≥ 1;
 * - `boolean`: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0` (case-insensitive), as git config reads them;
 * - `postgres-url`: a `postgres://` or `postgresql://` URL (libpq's connection URI); returned as is.
 *
 * @param key names the setting in the error.
 * @throws {InvalidInputError} when `text` does not fit the type, naming the key and the accepted forms.
 */
export function parseSettingValue<T extends SettingType>(key: string, type: T, text: string): SettingValue<T>
export function parseSettingValue(key: string, type: SettingType, text: string): number | boolean | string | null {
  switch (type) {
    case 'postgres-url':
      if (!URL.canParse(text)) {
        // Not quoted: what does not parse cannot have its password taken out.
        throw new InvalidInputError(`${key} is not a PostgreSQL URL: it does not parse as a URL.`, {
          hint: 'Give postgres://USER:PASSWORD@HOST:PORT/DATABASE, with a numeric port and any reserved character of the user or password percent-encoded (@ as %40).',
        })
      }
      if (!isPostgresUrl(text)) {
        throw new InvalidInputError(`${key} ${JSON.stringify(describeUrl(text))} is not a PostgreSQL URL.`, {hint: 'Give postgres://USER:PASSWORD@HOST:PORT/DATABASE.'})
      }
      return text
    case 'size':
      return parseByteSize(key, text)
    case 'count':
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidInputError(`${key} ${JSON.stringify(text)} is not a whole number.`, {hint: 'Give a count such as 100.'})
      return Number(text)
    case 'boolean': {
      const value = BOOLEANS[text.toLowerCase()]
      if (value === undefined) throw new InvalidInputError(`${key} ${JSON.stringify(text)} is not a boolean.`, {hint: 'Give true or false (yes/no, on/off, 1/0).'})
      return value
    }
    case 'duration-or-off':
      if (text.toLowerCase() === 'off') return null
      return parseDuration(key, text, ', or off')
    case 'duration':
      return parseDuration(key, text, '')
  }
}

function parseDuration(key: string, text: string, off: string): number {
  const duration = durationMs(text)
  if (duration === undefined) {
    throw new InvalidInputError(`${key} ${JSON.stringify(text)} is not a duration${off}.`, {hint: `Give a duration such as 30d, 12h or 90m (a bare number is seconds)${off}.`})
  }
  return duration
}

/**
 * A duration's text in whole ms: a bare number of seconds (`0`, `2.5`, as flock(1)'s `--wait`
 * takes), or a number with a unit of the `ms` package (`500ms`, `30s`, `12h`, `30d`).
 *
 * @returns `undefined` when `text` is neither (or negative).
 */
export function durationMs(text: string): number | undefined {
  const duration = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : /^\d+(\.\d+)?\s*[a-z]+$/i.test(text) ? ms(text as ms.StringValue) : Number.NaN
  return typeof duration === 'number' && Number.isFinite(duration) && duration >= 0 ? Math.round(duration) : undefined
}
