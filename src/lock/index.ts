export {type LockOptions} from './acquire.ts'
export {Lease} from './lease.ts'
export {DEFAULT_LEASE_TTL, MIN_LEASE_TTL} from './options.ts'
export {formatLeaseToken, type LeaseRef, parseLeaseToken} from './token.ts'
