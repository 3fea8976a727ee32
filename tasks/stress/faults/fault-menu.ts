import type {StoreCall} from './store-calls.ts'
import type {Injection} from './strace.ts'

/** A fault to give one system call: an error, or a write that returns fewer bytes than asked. */
export type Fault = {errno: string} | {retval: number}

/** One case of the fault suite: a store call of a write path, the fault, and whether it stays. */
export interface FaultCase {
  call: StoreCall
  fault: Fault
  /**
   * `when=N+`: the call and every later call of its system call fail (the disk stays broken):
   * those on the same file when the call's path is fixed (`StoreCall.fixed`: strace then counts
   * and fails only those), else every later one. Otherwise only that call fails.
   */
  persistent: boolean
}

/**
 * The faults a store call can meet, as its man page lists them among ENOSPC, EDQUOT, EIO and
 * EROFS (write(2), fsync(2), open(2), mkdir(2), rename(2), link(2), unlink(2)), and short writes:
 *
 * - `write` and `pwrite64` may also write nothing and return 0 (`retval=0`);
 * - `write` (the blob, config and `restore --to` files sess writes itself) may also return half
 *   its count (`retval=N/2`). strace's `retval=` skips the call (strace(1), "-e inject"), so this
 *   is a write that claims bytes it never wrote, not the kernel's partial write, and a writer can
 *   only catch it by checking the length of what it wrote. It is not given to `pwrite64`: SQLite
 *   writes the rest at the claimed offset and cannot catch it, nor can sess below SQLite.
 * - an `openat` that only reads can meet EIO only.
 */
export function faultsFor(call: StoreCall): Fault[] {
  const errors = (...errnos: string[]): Fault[] => errnos.map((errno) => ({errno}))
  switch (call.syscall) {
    case 'write':
      return [...errors('ENOSPC', 'EDQUOT', 'EIO'), {retval: 0}, ...(call.bytes >= 2 ? [{retval: Math.floor(call.bytes / 2)}] : [])]
    case 'pwrite64':
      return [...errors('ENOSPC', 'EDQUOT', 'EIO'), {retval: 0}]
    case 'fsync':
    case 'fdatasync':
      return errors('EIO', 'ENOSPC', 'EDQUOT')
    case 'openat':
      return call.writes ? errors('ENOSPC', 'EDQUOT', 'EROFS', 'EIO') : errors('EIO')
    case 'unlink':
    case 'unlinkat':
      return errors('EIO', 'EROFS')
    default: // mkdir(at), rename(at|at2), link(at)
      return errors('ENOSPC', 'EDQUOT', 'EROFS', 'EIO')
  }
}

/** The strace injection of `fault` at `when`. */
export function injectionOf(testCase: FaultCase, when: number): Injection {
  const {call, fault, persistent} = testCase
  return 'errno' in fault ? {errno: fault.errno, persistent, syscall: call.syscall, when} : {persistent, retval: fault.retval, syscall: call.syscall, when}
}

/** A fault as the report names it: `ENOSPC`, `short 0/4096`. */
export function faultLabel(testCase: FaultCase): string {
  const {call, fault, persistent} = testCase
  const what = 'errno' in fault ? fault.errno : `short ${fault.retval}/${call.bytes}`
  return `${what}${persistent ? ' for good' : ' once'}`
}

/**
 * The cases of one write path. Full: every store call with every fault of {@link faultsFor},
 * once, and with one of its errors (in turn) for good (not a short write: strace would make every
 * later write of the process claim the same count, its messages to the terminal included). Quick (what
 * CI runs on every push): for each system call the path makes on the store, its first and last
 * store call, each with one of its faults (in turn), once; and one other picked by `random` with
 * an error that stays.
 */
export function planCases(calls: readonly StoreCall[], quick: boolean, random: () => number): FaultCase[] {
  const errors = (call: StoreCall) => faultsFor(call).filter((fault) => 'errno' in fault)
  if (!quick) {
    return calls.flatMap((call, index) => {
      const staying = errors(call)
      return [...faultsFor(call).map((fault) => ({call, fault, persistent: false})), {call, fault: staying[index % staying.length]!, persistent: true}]
    })
  }
  const cases: FaultCase[] = []
  const bySyscall = new Map<string, StoreCall[]>()
  for (const call of calls) bySyscall.set(call.syscall, [...(bySyscall.get(call.syscall) ?? []), call])
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  let turn = 0
  for (const group of bySyscall.values()) {
    for (const call of new Set([group[0]!, group.at(-1)!])) {
      const faults = faultsFor(call)
      cases.push({call, fault: faults[turn++ % faults.length]!, persistent: false})
    }
    const stays = pick(group)
    cases.push({call: stays, fault: pick(errors(stays)), persistent: true})
  }
  return cases
}
