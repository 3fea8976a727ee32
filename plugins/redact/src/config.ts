import type {SessConfig} from '../../../src/config/file.ts'
import type {SettingSpec} from '../../../src/config/registry.ts'
import {parseSettingValue} from '../../../src/config/values.ts'

/** The key that turns redaction on. */
const ENABLED = 'redact.enabled'

/** The redact plugin's settings: `redact.enabled`, a boolean (default false: nothing is masked). */
export const REDACT_SETTINGS: readonly SettingSpec[] = [
  {description: 'mask credentials before they are stored: in saved files, records, output and snapshots (default false)', key: ENABLED, type: 'boolean'},
]

/**
 * Whether the settings turn redaction on (`redact.enabled`; absent: off).
 *
 * @throws {InvalidInputError} when the stored value is not a boolean.
 */
export function redactEnabled(config: SessConfig): boolean {
  const text = config[ENABLED]
  return text !== undefined && parseSettingValue(ENABLED, 'boolean', text)
}
