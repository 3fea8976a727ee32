import type {SessPlugin} from '../../../src/bus/index.ts'
import {proofOfDeath} from './liveness.ts'

/**
 * The locking plugin's bus handlers: on `lock.checking` (a wanted lock is held by an unexpired
 * lease) it looks for proof that the holder is dead ({@link proofOfDeath}); with proof, the store
 * takes the lock over at once instead of waiting out the lease.
 */
export const locking: SessPlugin = {
  name: '@sess/plugin-locking',
  register(bus) {
    bus.on('lock.checking', ({dead, holder}) => {
      if (dead !== undefined) return
      const reason = proofOfDeath(holder)
      return reason === undefined ? undefined : {dead: reason}
    })
  },
}
