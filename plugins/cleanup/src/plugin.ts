/**
 * The cleanup plugin: `sess gc` (retention with a trash, crash litter), `sess doctor` (leak and
 * integrity checks for CI), `sess stats` and `sess pin`; it declares the `gc.*` settings. Its
 * library side is the store's `gc()`, `doctor()`, `stats()`, `pin()` and `startAutoGc()`; it registers no
 * bus handlers of its own: it emits `gc.planned`, `gc.completed` and `doctor.finding` for others.
 */
export type {AutoGc, AutoGcOptions} from './auto-gc.ts'
export {GC_SETTINGS} from './config.ts'
export type {DoctorOptions, DoctorReport, DoctorResult} from './doctor.ts'
export type {GcOptions, GcReport, KeptSession} from './gc.ts'
export {DEFAULT_TRASH_GRACE, type RetentionPolicy, type RetentionRule} from './policy.ts'
export type {StoreStats} from './stats.ts'
