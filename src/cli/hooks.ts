import type {Config, Hook, Interfaces} from '@oclif/core'
import type {SessPlugin} from '../bus/index.ts'

/**
 * The oclif hooks sess adds. An oclif plugin joins the lifecycle bus by declaring
 * `"oclif": {"hooks": {"sess:plugin": "./hooks/sess-plugin.js"}}` and returning its
 * {@link SessPlugin} from that hook.
 *
 * (Custom hooks in @oclif/core 5 are typed by intersecting `Hooks`, not by module augmentation.)
 */
export type SessHooks = Interfaces.Hooks & {
  'sess:plugin': {options: Record<string, never>; return: SessPlugin}
}

/** The type of a plugin's `sess:plugin` hook. */
export type SessPluginHook = Hook<'sess:plugin', SessHooks>

/**
 * Asks every installed oclif plugin (core, user-installed and linked) for its bus plugin.
 * A plugin whose hook fails is reported through `warn` and left out; the command goes on.
 */
export async function collectBusPlugins(config: Config, warn: (message: string) => void): Promise<SessPlugin[]> {
  const {failures, successes} = await config.runHook<'sess:plugin', SessHooks>('sess:plugin', {})
  for (const failure of failures) warn(`plugin ${failure.plugin.name} failed to load (${failure.error.message}); carrying on without it`)
  const plugins: SessPlugin[] = []
  for (const {plugin, result} of successes) {
    if (result && typeof result.register === 'function') plugins.push({name: result.name || plugin.name, register: result.register.bind(result)})
    else warn(`plugin ${plugin.name}: its sess:plugin hook returned no {name, register}; ignored`)
  }
  return plugins
}
