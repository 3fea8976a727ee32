export {ExitCode} from './exit-codes.ts'
export {
  CommandError,
  ConflictError,
  DiskFullError,
  InvalidInputError,
  InvalidTransitionError,
  LimitError,
  LockError,
  NotASessionError,
  NotFoundError,
  SessError,
  type SessErrorOptions,
  StorageError,
  VetoError,
} from './sess-error.ts'
