import type {SessPluginHook} from '../../../../src/cli/hooks.ts'
import {persistence} from '../plugin.ts'

/** Hands the persistence plugin's bus handlers to the CLI, as any sess plugin does. */
const hook: SessPluginHook = async () => persistence

export default hook
