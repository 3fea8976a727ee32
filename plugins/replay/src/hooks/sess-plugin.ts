import type {SessPluginHook} from '../../../../src/cli/hooks.ts'
import {replay} from '../plugin.ts'

/** Hands the replay plugin's bus handlers to the CLI, as any sess plugin does. */
const hook: SessPluginHook = async () => replay

export default hook
