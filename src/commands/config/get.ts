import {Args} from '@oclif/core'
import {SessCommand} from '../../cli/base-command.ts'
import {CONFIG_KEYS, type SessConfig} from '../../config/index.ts'
import {NotFoundError} from '../../errors/index.ts'

export default class ConfigGet extends SessCommand<typeof ConfigGet> {
  static override summary = 'Print a setting of the store, or all of them.'
  static override description = `Settings live in $SESS_HOME/config.json. Keys: ${CONFIG_KEYS.join(', ')}.

--json prints {KEY: VALUE, …} (all, or the one asked for).`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> gc.maxAge']
  static override args = {key: Args.string({description: 'The setting, e.g. gc.maxAge (default: all).'})}

  async run(): Promise<SessConfig> {
    const config = (await this.store()).config()
    const {key} = this.args
    if (key !== undefined && !Object.hasOwn(config, key)) throw new NotFoundError(`${key} is not set.`, {hint: `Set it with \`sess config set ${key} VALUE\`.`})
    const shown = key === undefined ? config : {[key]: config[key]!}
    if (!this.jsonEnabled()) {
      if (key !== undefined) this.log(config[key]!)
      else if (Object.keys(config).length === 0) this.logToStderr('Nothing is set.')
      else for (const [name, value] of Object.entries(config)) this.log(`${name} ${value}`)
    }
    return shown
  }
}
