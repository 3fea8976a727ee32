import type {SessPluginHook} from '../../../../src/cli/hooks.ts'
import {locking} from '../plugin.ts'

/** Hands the locking plugin's bus handlers to the CLI, as any sess plugin does. */
const hook: SessPluginHook = async () => locking

export default hook
