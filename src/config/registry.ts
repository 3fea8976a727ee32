import {GC_SETTINGS} from '../../plugins/cleanup/src/config.ts'
import {REDACT_SETTINGS} from '../../plugins/redact/src/config.ts'
import {SAVE_SETTINGS} from '../../plugins/persistence/src/input/limits.ts'
import {SESSION_SETTINGS} from '../coordinator/settings.ts'
import {DATABASE_SETTINGS} from '../db/settings.ts'
import {InvalidInputError} from '../errors/index.ts'
import type {SettingType} from './values.ts'

/**
 * A setting that an owner (the core, a first-party plugin) declares: its key and the type of its
 * value. Owners export a list of these, and {@link SETTINGS} gathers the lists: a key no owner
 * declares cannot be set.
 *
 * @example
 * ```ts
 * export const MY_SETTINGS: readonly SettingSpec[] = [
 *   {key: 'gc.maxAge', type: 'duration', description: 'trash sessions idle for longer'},
 *   {key: 'gc.kinds.<kind>.maxAge', type: 'duration', description: 'the same for one kind'},
 * ]
 * ```
 */
export interface SettingSpec {
  /** The dotted key, or a pattern of keys: `<name>` stands for any non-empty part (`gc.kinds.<kind>.maxAge`). */
  readonly key: string
  readonly type: SettingType
  /** What it does, in a few words (for `sess config --help`). */
  readonly description: string
}

/** Every declared setting, by owner. */
export const SETTINGS: readonly SettingSpec[] = [...DATABASE_SETTINGS, ...SESSION_SETTINGS, ...GC_SETTINGS, ...SAVE_SETTINGS, ...REDACT_SETTINGS]

/** Every key `sess config` knows, as patterns (`<kind>`, `<tag>`: any name). */
export const CONFIG_KEYS: readonly string[] = SETTINGS.map((spec) => spec.key)

const MATCHERS = SETTINGS.map((spec) => ({
  pattern: new RegExp(`^${spec.key.replaceAll('.', '\\.').replaceAll(/<[^>]+>/g, '.+')}$`),
  spec,
}))

/**
 * The declaration of setting `key`.
 *
 * @throws {InvalidInputError} when no owner declares it (the hint lists the keys).
 */
export function findSetting(key: string): SettingSpec {
  const found = MATCHERS.find(({pattern}) => pattern.test(key))
  if (!found) throw new InvalidInputError(`Unknown setting ${JSON.stringify(key)}.`, {hint: `Settings: ${CONFIG_KEYS.join(', ')}.`})
  return found.spec
}

/** The settings, one line each (`gc.maxAge (duration): …`), for help texts. */
export function describeSettings(): string {
  return SETTINGS.map((spec) => `- ${spec.key} (${spec.type}): ${spec.description}`).join('\n')
}
