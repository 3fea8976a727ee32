import {writeFileAtomic} from '../../plugins/persistence/src/blobs/atomic-write.ts'
import {readRegularFile} from '../../plugins/persistence/src/blobs/read-file.ts'
import {StorageError} from '../errors/index.ts'
import type {StoreLayout} from '../store/home.ts'
import {findSetting} from './registry.ts'
import {parseSettingValue} from './values.ts'

/**
 * The store's settings file, `$SESS_HOME/config.json` (`sess config`): a JSON object of settings
 * by dotted key, values as the user gave them (`{"gc.maxAge": "30d", "sessions.maxActive": "10"}`).
 * The keys are those declared in `SETTINGS`; each owner reads its own and parses them with
 * `parseSettingValue`.
 */
export type SessConfig = Record<string, string>

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
 * @throws {InvalidInputError} for an unknown key, or a value that does not fit its type.
 */
export function checkSetting(key: string, value: string): string {
  const text = value.trim()
  parseSettingValue(key, findSetting(key).type, text)
  return text
}

/**
 * Writes the settings file atomically (temp file, fsync, rename; mode 0600) with `key` set to
 * `value`, or removed when `value` is `undefined`, and returns the new settings, sorted by key.
 * Call it under the store's content lock (shared).
 *
 * @throws {InvalidInputError} for an unknown key or a bad value. @throws {StorageError} when it cannot be written.
 */
export function writeSetting(layout: StoreLayout, key: string, value: string | undefined): SessConfig {
  const config = readConfig(layout)
  if (value !== undefined) config[key] = checkSetting(key, value)
  else if (Object.hasOwn(config, key)) delete config[key]
  else findSetting(key)
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  writeFileAtomic(layout.config, new TextEncoder().encode(`${JSON.stringify(sorted, null, 2)}\n`), {overwrite: true})
  return sorted
}
