import type {Kysely} from 'kysely'
import type {Database} from '../db/schema.ts'
import {LimitError} from '../errors/index.ts'
import {IN_USE_STATUSES} from '../session/status.ts'

/**
 * Refuses one more session in use when `maxActive` are already (live sessions `active`,
 * `waiting_for_input` or `processing`, other than `except`). Call it inside the write
 * transaction that makes the session active, so that concurrent callers cannot both pass.
 *
 * @throws {LimitError} naming the limit, the count, and the fix.
 */
export async function assertRoom(trx: Kysely<Database>, maxActive: number, except?: string): Promise<void> {
  const row = await trx
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('trashed_at', 'is', null)
    .where('status', 'in', [...IN_USE_STATUSES])
    .$if(except !== undefined, (query) => query.where('id', '!=', except!))
    .executeTakeFirstOrThrow()
  const active = Number(row.n)
  if (active < maxActive) return
  throw new LimitError(`${active} sessions are active, and sessions.maxActive allows ${maxActive}.`, {
    hint: `Close one (\`sess close NAME\`; \`sess list --active\` lists them), or raise the limit: \`sess config set sessions.maxActive ${maxActive + 5}\`.`,
  })
}
