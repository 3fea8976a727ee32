/**
 * (a) `sess save` of sessions larger than the space left: of one file (even rounds), or of a
 * directory whose files fill the disk one after another (odd rounds). The save fails with exit 1
 * and an error naming the full disk; what was committed before (sessions saved earlier, and the
 * directory's files the CLI reported saved) restores byte for byte; the file it failed on is not
 * there at all; after space is freed, the same command saves the rest.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sessJsonl} from '../crash/inputs.ts'
import {cliDiskFull, type DiskFullScenario, doctorAndFree, sessOn, withStore} from './scenario.ts'
import {fill} from './tmpfs.ts'

/**
 * Bytes left free before the save, by round: of a file (even rounds), too little for its blob, then
 * room for the blob but not the transaction that indexes its records; of a directory (odd rounds),
 * room for none of its files, then for two. (A save takes about 2.7 times its file's size: the
 * blob, then the records and their search index in the database.)
 */
const LEAVE = {directory: [200_000, 700_000], file: [100_000, 800_000]}

/** A file to save, and the session it becomes. */
interface Input {
  name: string
  path: string
  bytes: Uint8Array
  records: number
}

export const saveScenario: DiskFullScenario = async (context) => {
  const {round} = context
  const failures: string[] = []
  const fail = (problem: string) => failures.push(`disk-full save (round ${round}): ${problem}`)
  const inputs = join(context.scratch, `save-${round}`)
  mkdirSync(inputs, {recursive: true})
  const make = (name: string, records: number, directory = inputs): Input => {
    const file = sessJsonl(`${name.replaceAll('-', '')}r${round}`, records, 600)
    const path = join(directory, `${name}.jsonl`)
    writeFileSync(path, file.bytes)
    return {bytes: file.bytes, name, path, records}
  }
  // Committed before the disk fills.
  const earlier = [make('earlier-1', 250), make('earlier-2', 250)]
  for (const input of earlier) {
    const saved = sessOn(context, ['save', input.path])
    if (saved.code !== 0) fail(`saving ${input.name} on an empty disk failed: ${saved.stderr}`)
  }
  const directory = round % 2 === 1
  fill(context.disk, LEAVE[directory ? 'directory' : 'file'][Math.floor(round / 2) % 2]!)
  let targets: Input[]
  let args: string[]
  if (directory) {
    const dir = join(inputs, 'dir')
    mkdirSync(dir, {recursive: true})
    targets = [1, 2, 3, 4].map((i) => make(`dir-${i}`, 150, dir))
    args = ['save', dir]
  } else {
    targets = [make('large', 700)]
    args = ['save', targets[0]!.path]
  }
  const result = sessOn(context, args)
  for (const problem of cliDiskFull(result, context)) fail(`${args.join(' ')}: ${problem}`)
  const reported = new Set(result.stdout.split('\n').filter((line) => line.startsWith('saved')).map((line) => line.split(/\s+/)[1]))
  if (!directory && reported.size > 0) fail(`the save that failed reported ${[...reported].join(', ')} saved`)

  const check = (when: string, mustHave: (input: Input) => boolean) =>
    withStore(context, async (store) => {
      const sessions = await store.list({limit: undefined})
      for (const input of [...earlier, ...targets]) {
        const found = sessions.filter((s) => s.name === input.name)
        if (found.length === 0) {
          if (mustHave(input)) fail(`${when}: ${input.name} was saved but is gone`)
          continue
        }
        const restored = await store.restore(found[0]!.id).catch((error: unknown) => error as Error)
        if (restored instanceof Error) fail(`${when}: ${input.name} is listed but cannot be restored: ${restored.message}`)
        else if (!Buffer.from(restored.bytes).equals(input.bytes)) fail(`${when}: ${input.name} restores to other bytes than were saved`)
        if (found[0]!.recordCount !== input.records) fail(`${when}: ${input.name} indexes ${found[0]!.recordCount} records, not ${input.records}`)
      }
      const unknown = sessions.filter((s) => ![...earlier, ...targets].some((input) => input.name === s.name))
      if (unknown.length > 0) fail(`${when}: sessions nobody saved: ${unknown.map((s) => s.name).join(', ')}`)
      return sessions.length
    })

  const held = await check('after the failed save', (input) => earlier.includes(input) || reported.has(input.name))
  if (held !== earlier.length + reported.size) fail(`after the failed save the store holds ${held} sessions: the ${earlier.length} earlier and the ${reported.size} reported, and not the one it failed on, were expected`)
  for (const problem of doctorAndFree(context)) fail(problem)
  const retry = sessOn(context, args)
  if (retry.code !== 0) fail(`${args.join(' ')} after freeing space exits ${retry.code}: ${retry.stderr.trim()}`)
  await check('after the retry', () => true)
  return {cases: 1, failures, faults: 1}
}
