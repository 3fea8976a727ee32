/**
 * sess: durable sessions for interactive and AI-agent command-line tools.
 *
 * @example
 * ```ts
 * import {openStore} from 'sess'
 * await using store = await openStore()
 * const chat = await store.create({kind: 'chat', name: 'support-42'})
 * await store.append(chat.id, {type: 'message', role: 'user', parts: [{type: 'text', text: 'Hello'}]})
 * ```
 * @module
 */
export * from './bus/index.ts'
export type {AutoGc, AutoGcOptions} from '../plugins/cleanup/src/auto-gc.ts'
export type {DoctorOptions, DoctorReport, DoctorResult} from '../plugins/cleanup/src/doctor.ts'
export type {GcOptions, GcReport, KeptSession} from '../plugins/cleanup/src/gc.ts'
export {DEFAULT_TRASH_GRACE, type RetentionPolicy, type RetentionRule} from '../plugins/cleanup/src/policy.ts'
export type {StoreStats} from '../plugins/cleanup/src/stats.ts'
export {type RedactionCounts, type RedactRule, redactBytes, redactText} from '../plugins/redact/src/plugin.ts'
export type {SessHooks, SessPluginHook} from './cli/hooks.ts'
export {CONFIG_KEYS, parseSettingValue, type SessConfig, SETTINGS, type SettingSpec, type SettingType} from './config/index.ts'
export type {CloseResult, NewSessionInput, SwitchOptions, SwitchResult} from './coordinator/coordinator.ts'
export type {CurrentSession, Here, Pointer, PointerScope} from './coordinator/pointers.ts'
export {DEFAULT_MAX_ACTIVE, SESSION_SETTINGS, type SessionSettings} from './coordinator/settings.ts'
export {TERMINAL_ENV, terminalIdentity} from './coordinator/terminal.ts'
export * from './errors/index.ts'
export * from './lock/index.ts'
export type {DetectInput, ExportSession, FormatAdapter, ParsedMeta, ParsedSession} from './session/format.ts'
export {assertValidName, MAX_NAME_LENGTH} from './session/names.ts'
export {assertTransition, isSessionStatus, SESSION_STATUSES, type SessionStatus, STATUS_TRANSITIONS} from './session/status.ts'
export type * from './session/types.ts'
export {parseQuery, type ParsedQuery, type SearchTerm} from './search/query.ts'
export {DEFAULT_SEARCH_LIMIT, type SearchHit, type SearchOptions} from './search/search.ts'
export type {BlobRef, BlobStore} from './store/blob-store.ts'
export type {ListFilter} from './store/list-filter.ts'
export {DEFAULT_LOCK_WAIT, DEFAULT_PLUGINS, openStore, type OpenStoreOptions} from './store/open-store.ts'
export {DEFAULT_OUTPUT_LIMIT, DEFAULT_SNAPSHOTS_KEPT, Store} from './store/store.ts'
export {OUTPUT_LIMIT_ENV, parseByteSize} from './store/output-limit.ts'
export type {AppendOutputOptions, EvictedOutput, OutputStats, ReadOutputOptions, ReplayOptions, ReplayPoint, ReplayResult, ReplaySink, StoredOutputEvent} from './store/output.ts'
export type * from './store/types.ts'
