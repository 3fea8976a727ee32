/** Settings of a store (`$SESS_HOME/config.json`, `sess config`): the file, the declared keys, typed values. */
export {checkSetting, readConfig, type SessConfig, writeSetting} from './file.ts'
export {CONFIG_KEYS, describeSettings, findSetting, SETTINGS, type SettingSpec} from './registry.ts'
export {parseSettingValue, type SettingType, type SettingValue} from './values.ts'
