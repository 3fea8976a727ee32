import type {SessPluginHook} from '../../../../src/cli/hooks.ts'
import {redact} from '../plugin.ts'

/** Hands the redact plugin's bus handler to the CLI, as any sess plugin does. */
const hook: SessPluginHook = async () => redact

export default hook
