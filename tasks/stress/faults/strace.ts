/**
 * strace(1) as the fault injector of `bun run stress`: the command line that traces or fails the
 * system calls of one process, and the parser of what strace printed.
 *
 * strace counts the calls that `-e inject=…:when=N` selects per system call and per traced thread
 * ("Accounting of syscalls that are subject to injection is done per syscall and per tracee",
 * strace(1), 6.1). Without `-f` strace traces the command's first thread only: Bun's JavaScript
 * thread, which makes every call of sess on its store (the `node:fs` calls sess uses are
 * synchronous, as is bun:sqlite), while Bun's other threads (module loading, the event loop's
 * wakeups) go untraced and uncounted. So the Nth call of a system call in a trace without `-f` is
 * the call that `when=N` fails in the next run, as long as that run makes the same calls before it.
 */

/** The system calls the fault suite fails: those that write, sync, create or rename on a store. */
export const WRITE_SYSCALLS = ['write', 'pwrite64', 'fsync', 'fdatasync', 'openat', 'mkdir', 'mkdirat', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'unlink', 'unlinkat'] as const

/** One of {@link WRITE_SYSCALLS}. */
export type WriteSyscall = (typeof WRITE_SYSCALLS)[number]

/** One system call as strace printed it. */
export interface TracedCall {
  syscall: string
  /** 1-based: how many calls of this system call the thread had made, this one included (what `when=` counts). */
  index: number
  /** The paths it names: path arguments, and (with `-y`) the paths of its descriptors and of a descriptor it returned. */
  paths: string[]
  /** The open flags (`O_WRONLY|O_CREAT…`) of an `openat`, else `''`. */
  flags: string
  /** What it returned: bytes written, a descriptor, 0, or -1 with {@link errno}. */
  retval: number
  /** The error name (`ENOSPC`) when it failed, else `null`. */
  errno: string | null
  /** Whether strace injected its result (`(INJECTED)`). */
  injected: boolean
}

/** What to do to one system call: fail it with an errno, or make it return a value without running. */
export type Injection = {syscall: string; errno: string; when: number; persistent: boolean} | {syscall: string; retval: number; when: number; persistent: boolean}

/**
 * The argv of strace running `command` with its first thread traced (see the module comment):
 * the calls of `syscalls` written to `traceFile` with descriptor paths (`-y`) and no data
 * (`-s 0`), and `injection` applied: `when=N` fails the Nth call only (the fault happens once),
 * `when=N+` that call and every later one (the fault stays). With `path`, only the calls that
 * name it (as an argument, or through a descriptor) are traced and counted (`-P`: strace counts
 * `when=` among the calls it traces, so the Nth call on that path is the one failed).
 */
export function straceArgv(command: string[], traceFile: string, syscalls: readonly string[], injection?: Injection, path?: string): string[] {
  const argv = ['strace', '-qq', '-y', '-s', '0', '-o', traceFile, '-e', `trace=${syscalls.join(',')}`, ...(path === undefined ? [] : ['-P', path])]
  if (injection) {
    const result = 'errno' in injection ? `error=${injection.errno}` : `retval=${injection.retval}`
    argv.push('-e', `inject=${injection.syscall}:${result}:when=${injection.when}${injection.persistent ? '+' : ''}`)
  }
  return [...argv, '--', ...command]
}

const CALL = /^(\w+)\((.*)\) += (-?\d+)(?:<([^>]*)>)?(?: (E[A-Z0-9]+) \([^)]*\))?(.*)$/
const PATH_ARGUMENT = /"(\/[^"]*)"/g
const DESCRIPTOR_PATH = /<(\/[^>]*)>/g

/**
 * Parses the output of strace run as {@link straceArgv} runs it (one thread, `-y -s 0`): one
 * {@link TracedCall} per completed call, in order, numbered per system call. Lines strace prints
 * about signals and exits are skipped.
 */
export function parseTrace(text: string): TracedCall[] {
  const counts = new Map<string, number>()
  const calls: TracedCall[] = []
  for (const line of text.split('\n')) {
    const match = CALL.exec(line)
    if (!match) continue
    const [, syscall = '', args = '', retval = '', returnedPath, errno, rest = ''] = match
    const index = (counts.get(syscall) ?? 0) + 1
    counts.set(syscall, index)
    const paths = [...args.matchAll(PATH_ARGUMENT), ...args.matchAll(DESCRIPTOR_PATH)].map((m) => m[1] ?? '')
    if (returnedPath?.startsWith('/')) paths.push(returnedPath)
    calls.push({
      errno: errno ?? null,
      flags: syscall === 'openat' ? (/, (O_[A-Z_|]+)/.exec(args)?.[1] ?? '') : '',
      index,
      injected: rest.includes('(INJECTED)'),
      paths,
      retval: Number(retval),
      syscall,
    })
  }
  return calls
}

/** Whether strace(1) can be run here. */
export function haveStrace(): boolean {
  try {
    return Bun.spawnSync(['strace', '-V'], {stderr: 'ignore', stdout: 'ignore'}).exitCode === 0
  } catch {
    return false
  }
}
