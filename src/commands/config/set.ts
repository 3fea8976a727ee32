import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../../cli/base-command.ts'
import {CONFIG_KEYS, describeSettings, type SessConfig} from '../../config/index.ts'
import {InvalidInputError} from '../../errors/index.ts'

export default class ConfigSet extends SessCommand<typeof ConfigSet> {
  static override summary = 'Set a setting of the store (e.g. the retention policy of sess gc), or remove it with --unset.'
  static override description = `Settings live in $SESS_HOME/config.json, written atomically. A duration is a number of seconds or carries a unit (30d, 12h); a size is bytes or carries a unit (5GiB, 500MB); a boolean is true or false. Keys (<kind>, <tag>: any name):
${describeSettings()}

--json prints all the settings after the change.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> gc.maxAge 30d',
    '<%= config.bin %> <%= command.id %> gc.kinds.terminal.maxAge 7d',
    '<%= config.bin %> <%= command.id %> gc.maxBytes 5GiB',
    '<%= config.bin %> <%= command.id %> gc.maxAge --unset',
  ]

  static override args = {
    key: Args.string({description: `The setting: ${CONFIG_KEYS.join(', ')}.`, required: true}),
    value: Args.string({description: 'Its value (omit with --unset).'}),
  }

  static override flags = {unset: Flags.boolean({description: 'Remove the setting.'})}

  async run(): Promise<SessConfig> {
    const {key, value} = this.args
    if ((value === undefined) !== (this.flags.unset === true)) {
      throw new InvalidInputError(this.flags.unset ? '--unset takes no value.' : `A value for ${key} is required.`, {hint: 'sess config set KEY VALUE, or sess config set KEY --unset.'})
    }
    const config = await (await this.store()).setConfig(key, value)
    if (!this.jsonEnabled()) this.log(value === undefined ? `Removed ${key}.` : `${key} ${config[key]}`)
    return config
  }
}
