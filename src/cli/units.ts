import ms from 'ms'
import {durationMs} from '../config/values.ts'
import {InvalidInputError} from '../errors/index.ts'

/** `1536` → `1.5 KiB` (binary units, as du -h and ls -lh print). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

/** A time as `2026-11-21 09:41` (local), or `3m ago` style when within a day of `now`. */
export function formatTime(epochMs: number, now = Date.now()): string {
  const age = now - epochMs
  if (age >= 0 && age < 86_400_000) return age < 60_000 ? 'just now' : `${ms(age)} ago`
  const date = new Date(epochMs)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`
}

/**
 * A point in time from a flag: a duration back from `now` (`30m`, `7d`, `2 weeks`: the `ms`
 * package's syntax) or a date/time (`2026-11-01`, ISO 8601).
 *
 * @returns ms since the epoch.
 * @throws {InvalidInputError} naming the flag and the accepted forms.
 */
export function parseTimeFlag(flag: string, value: string, now = Date.now()): number {
  // A duration needs a unit ("7d", "2 weeks"): a bare number such as 2020 is a year, not 2020 ms.
  if (/^\s*\d+(\.\d+)?\s*[a-z]+\s*$/i.test(value)) {
    const duration = ms(value.trim() as ms.StringValue)
    if (typeof duration === 'number' && Number.isFinite(duration) && duration >= 0) return now - duration
  }
  const date = value.trim() === '' ? Number.NaN : Date.parse(value)
  if (Number.isFinite(date)) return date
  throw new InvalidInputError(`--${flag} ${JSON.stringify(value)} is neither a duration nor a date.`, {
    hint: 'Use a duration back from now (30m, 12h, 7d) or a date (2026-11-01, 2026-11-01T09:00:00Z).',
  })
}

/**
 * A duration from a flag: `30s`, `5m`, `1500ms`, `2h` (the `ms` package's syntax), or a bare number
 * of seconds (`0`, `2.5`), as flock(1)'s `--wait` takes.
 *
 * @returns whole ms. @throws {InvalidInputError} naming the flag and the accepted forms.
 */
export function parseDurationFlag(flag: string, value: string): number {
  const duration = durationMs(value.trim())
  if (duration !== undefined) return duration
  throw new InvalidInputError(`--${flag} ${JSON.stringify(value)} is not a duration.`, {hint: 'Use a number of seconds (0, 2.5) or a duration with a unit (500ms, 30s, 5m, 1h).'})
}
