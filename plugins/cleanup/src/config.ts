import {InvalidInputError} from '../../../src/errors/index.ts'
import type {SessConfig} from '../../../src/config/file.ts'
import type {SettingSpec} from '../../../src/config/registry.ts'
import {parseSettingValue, type SettingType} from '../../../src/config/values.ts'
import type {RetentionPolicy, RetentionRule} from './policy.ts'

type Field = 'maxAge' | 'maxSessions' | 'maxBytes' | 'keepAtLeast' | 'trashGrace' | 'compressAfter'

/** The type of each `gc.<field>` setting. */
const FIELD_KINDS: Readonly<Record<Field, Exclude<SettingType, 'boolean' | 'postgres-url'>>> = {
  compressAfter: 'duration-or-off',
  keepAtLeast: 'count',
  maxAge: 'duration',
  maxBytes: 'size',
  maxSessions: 'count',
  trashGrace: 'duration',
}

const FIELD_DESCRIPTIONS: Readonly<Record<Field, string>> = {
  compressAfter: 'compress the content of sessions idle for longer (default 7d; off: never)',
  keepAtLeast: 'the newest N sessions are always kept',
  maxAge: 'trash sessions idle for longer (by last activity)',
  maxBytes: 'keep the newest sessions while their bytes add up to at most this',
  maxSessions: 'keep at most this many sessions',
  trashGrace: 'purge the trash and the quarantine after this long',
}

/** Fields that may also be set for one kind (`gc.kinds.<kind>.<field>`) or one tag (`gc.tags.<tag>.<field>`). */
const RULE_FIELDS: readonly Field[] = ['maxAge', 'maxSessions', 'maxBytes', 'keepAtLeast']

/**
 * The settings of `sess gc` (the retention policy, see `policyFromConfig`): `gc.<field>` for the
 * whole store, and `gc.kinds.<kind>.<field>` / `gc.tags.<tag>.<field>` for the sessions of a kind
 * or with a tag.
 */
export const GC_SETTINGS: readonly SettingSpec[] = [
  ...(Object.keys(FIELD_KINDS) as Field[]).map((field) => ({description: FIELD_DESCRIPTIONS[field], key: `gc.${field}`, type: FIELD_KINDS[field]})),
  ...(['kinds', 'tags'] as const).flatMap((scope) =>
    RULE_FIELDS.map((field) => ({
      description: `${field} for the sessions ${scope === 'kinds' ? 'of one kind' : 'with one tag'}`,
      key: `gc.${scope}.<${scope === 'kinds' ? 'kind' : 'tag'}>.${field}`,
      type: FIELD_KINDS[field],
    })),
  ),
]

/** Where a key lands in a {@link RetentionPolicy}. */
interface KeyPath {
  scope: 'store' | 'kinds' | 'tags'
  name?: string
  field: Field
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
    const value = parseSettingValue(key, FIELD_KINDS[path.field], text)
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
  const unknown = () => new InvalidInputError(`Unknown setting ${JSON.stringify(key)}.`, {hint: `The gc settings: ${GC_SETTINGS.map((spec) => spec.key).join(', ')}.`})
  if (parts[0] !== 'gc' || parts.length < 2) throw unknown()
  if (parts.length === 2) {
    const field = parts[1] as Field
    if (!Object.hasOwn(FIELD_KINDS, field)) throw unknown()
    return {field, scope: 'store'}
  }
  const scope = parts[1]
  const field = parts.at(-1) as Field
  const name = parts.slice(2, -1).join('.')
  if ((scope !== 'kinds' && scope !== 'tags') || name === '' || !RULE_FIELDS.includes(field)) throw unknown()
  return {field, name, scope}
}
