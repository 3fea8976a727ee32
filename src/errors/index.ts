export {ExitCode} from './exit-codes.ts'
export {
  ConflictError,
  InvalidInputError,
  InvalidTransitionError,
  LockError,
  NotASessionError,
  NotFoundError,
  SessError,
  type SessErrorOptions,
  StorageError,
  VetoError,
} from './sess-error.ts'
