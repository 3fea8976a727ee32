/**
 * Creates a session owned by this process, then exits: the session's owner is then provably dead
 * (no such pid), as after a crash of the application that recorded it (gc and doctor tests).
 *
 *   bun test/helpers/owner-child.ts HOME CLOCK_MS NAME KIND STATUS
 *
 * The store's clock is fixed at CLOCK_MS, so the session's last activity is that time. Prints the
 * session's id.
 */
import {writeSync} from 'node:fs'
import {openStore, type SessionStatus} from '../../src/index.ts'

const [home, clock, name, kind, status] = process.argv.slice(2)
await using store = await openStore({home: home!, now: () => Number(clock)})
const session = await store.create({kind: kind!, name: name!, status: status as SessionStatus})
writeSync(1, `${session.id}\n`)
