import ms from 'ms'
import {InvalidInputError, StorageError} from '../../../src/errors/index.ts'
import type {StoreLayout} from '../../../src/store/home.ts'
import {parseByteSize} from '../../../src/store/output-limit.ts'
import {writeFileAtomic} from '../../persistence/src/blobs/atomic-write.ts'
import {readRegularFile} from '../../persistence/src/blobs/read-file.ts'
import type {RetentionPolicy, RetentionRule} from './policy.ts'

/**
 * The store's settings file, `$SESS_HOME/config.json` (`sess config`): a JSON object of settings
 * by dotted key, values as the user gave them (`{"gc.maxAge": "30d", "gc.kinds.terminal.maxAge": "7d"}`).
 * It is written atomically and read by every `sess gc` (flags override it) and by
 * `store.gc()` when it is given no policy.
 *
 * Keys:
 * - `gc.maxAge`, `gc.trashGrace`: a duration (`30d`, `12h`, `90m`; a bare number is seconds)
 * - `gc.maxSessions`, `gc.keepAtLeast`: a whole number
 * - `gc.maxBytes`: a size (`5GiB`, `500MB`, bytes)
 * - `gc.compressAfter`: a duration, or `off`: gc compresses the blobs of sessions idle for longer
 *   (default 7 days)
 * - `gc.kinds.<kind>.<field>` and `gc.tags.<tag>.<field>`, field one of `maxAge`, `maxSessions`,
 *   `maxBytes`, `keepAtLeast`: the rule for the sessions of a kind or with a tag
 */
export type SessConfig = Record<string, string>

type Field = 'maxAge' | 'maxSessions' | 'maxBytes' | 'keepAtLeast' | 'trashGrace' | 'compressAfter'

/** Fields of the whole store only (no per-kind or per-tag rule). */
const STORE_FIELDS: ReadonlySet<Field> = new Set(['trashGrace', 'compressAfter'])

const FIELD_KINDS: Readonly<Record<Field, 'duration' | 'count' | 'size' | 'duration-or-off'>> = {
  compressAfter: 'duration-or-off',
  keepAtLeast: 'count',
  maxAge: 'duration',
  maxBytes: 'size',
  maxSessions: 'count',
  trashGrace: 'duration',
}

/** Every key `sess config` knows, as patterns (`<kind>`, `<tag>`: any name). */
export const CONFIG_KEYS: readonly string[] = [
  'gc.maxAge',
  'gc.maxSessions',
  'gc.maxBytes',
  'gc.keepAtLeast',
  'gc.trashGrace',
  'gc.compressAfter',
  'gc.kinds.<kind>.<maxAge|maxSessions|maxBytes|keepAtLeast>',
  'gc.tags.<tag>.<maxAge|maxSessions|maxBytes|keepAtLeast>',
]

/** Where a key lands in a {@link RetentionPolicy}. */
interface KeyPath {
  scope: 'store' | 'kinds' | 'tags'
  name?: string
  field: Field
}

/**
 * Reads the settings file; an absent file is no settings.
 *
 * @throws {StorageError} when it cannot be read or is not a JSON object of strings.
 */
export function readConfig(layout: StoreLayout): SessConfig {
  let bytes: Uint8Array
  try {
    bytes = readRegularFile(layout.config)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new StorageError(`Cannot read ${layout.config}: ${(error as Error).message}`, {cause: error, hint: 'Check the file (it must be a regular file, not a symlink).'})
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes))
  } catch (error) {
    throw new StorageError(`${layout.config} is not valid JSON: ${(error as Error).message}`, {hint: 'Fix or delete the file; `sess config set` rewrites it.'})
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((value) => typeof value !== 'string')) {
    throw new StorageError(`${layout.config} must hold a JSON object of settings (strings by key).`, {hint: 'Fix or delete the file; `sess config set` rewrites it.'})
  }
  return parsed as SessConfig
}

/**
 * Checks `key` and `value` and returns the value as it is stored (trimmed).
 *
 * @throws {InvalidInputError} for an unknown key, or a value that does not fit it.
 */
export function checkSetting(key: string, value: string): string {
  const path = keyPath(key)
  const text = value.trim()
  parseValue(key, path.field, text)
  return text
}

/**
 * Writes the settings file atomically with `key` set to `value` (or removed when `value` is
 * `undefined`), and returns the new settings. Call it under the store's content lock (shared).
 *
 * @throws {InvalidInputError} for an unknown key or a bad value. @throws {StorageError} when it cannot be written.
 */
export function writeSetting(layout: StoreLayout, key: string, value: string | undefined): SessConfig {
  const config = readConfig(layout)
  if (value === undefined) {
    keyPath(key)
    delete config[key]
  } else {
    config[key] = checkSetting(key, value)
  }
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  writeFileAtomic(layout.config, new TextEncoder().encode(`${JSON.stringify(sorted, null, 2)}\n`), {overwrite: true})
  return sorted
}

/**
 * The retention policy the settings describe (`gc.*` keys).
 *
 * @throws {InvalidInputError} when a stored key or value is not valid (naming it).
 */
export function policyFromConfig(config: SessConfig): RetentionPolicy {
  const policy: {-readonly [K in keyof RetentionPolicy]: RetentionPolicy[K]} = {}
  for (const [key, text] of Object.entries(config)) {
    if (!key.startsWith('gc.')) continue
    const path = keyPath(key)
    const value = parseValue(key, path.field, text)
    if (path.scope === 'store') {
      if (path.field === 'compressAfter') policy.compressAfter = value
      else policy[path.field] = value ?? undefined
      continue
    }
    const rules: Record<string, RetentionRule> = {...policy[path.scope]}
    rules[path.name!] = {...rules[path.name!], [path.field]: value ?? undefined}
    policy[path.scope] = rules
  }
  return policy
}

function keyPath(key: string): KeyPath {
  const parts = key.split('.')
  const unknown = () => new InvalidInputError(`Unknown setting ${JSON.stringify(key)}.`, {hint: `Settings: ${CONFIG_KEYS.join(', ')}.`})
  if (parts[0] !== 'gc' || parts.length < 2) throw unknown()
  if (parts.length === 2) {
    const field = parts[1] as Field
    if (!Object.hasOwn(FIELD_KINDS, field)) throw unknown()
    return {field, scope: 'store'}
  }
  const scope = parts[1]
  const field = parts.at(-1) as Field
  const name = parts.slice(2, -1).join('.')
  if ((scope !== 'kinds' && scope !== 'tags') || name === '' || !Object.hasOwn(FIELD_KINDS, field) || STORE_FIELDS.has(field)) throw unknown()
  return {field, name, scope}
}

/** A setting's value: ms, bytes or a count; `null` for `off`. */
function parseValue(key: string, field: Field, text: string): number | null {
  const kind = FIELD_KINDS[field]
  if (kind === 'duration-or-off' && text === 'off') return null
  if (kind === 'size') return parseByteSize(key, text)
  if (kind === 'count') {
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidInputError(`${key} ${JSON.stringify(text)} is not a whole number.`, {hint: 'Give a count such as 100.'})
    return Number(text)
  }
  const duration = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : /^\d+(\.\d+)?\s*[a-z]+$/i.test(text) ? ms(text as ms.StringValue) : Number.NaN
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) {
    const off = kind === 'duration-or-off' ? ', or off' : ''
    throw new InvalidInputError(`${key} ${JSON.stringify(text)} is not a duration${off}.`, {hint: `Give a duration such as 30d, 12h or 90m (a bare number is seconds)${off}.`})
  }
  return Math.round(duration)
}
