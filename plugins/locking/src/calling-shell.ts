import {basename} from 'node:path'
import {processArgv, processStat} from '../../../src/os/process.ts'

/** Programs that only launch sess for someone else (npx sess, npm exec, bunx, bun run): never the caller. */
const LAUNCHERS = new Set(['npm', 'npx', 'bunx', 'pnpm', 'pnpx', 'yarn'])
const RUNTIMES = new Set(['node', 'nodejs', 'bun'])
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash'])

/**
 * The pid of the process that called sess: the parent, unless it is a launcher (`npx`, `npm exec`,
 * `bunx`, `bun run`, or the `sh -c` such a launcher starts), in which case the nearest ancestor
 * that is not. A lease taken by `sess lock acquire` belongs to that process, so it ends when the
 * calling shell does.
 */
export function callingProcess(): number {
  let pid = process.ppid
  for (let depth = 0; depth < 8; depth++) {
    const parent = processStat(pid)?.ppid
    if (parent === undefined || parent <= 1) break
    if (!isLauncher(pid) && !(isShellCommand(pid) && isLauncher(parent))) break
    pid = parent
  }
  return pid
}

function isLauncher(pid: number): boolean {
  const [program = '', first = '', second = ''] = words(processArgv(pid))
  const name = basename(program)
  if (LAUNCHERS.has(name)) return true
  if (!RUNTIMES.has(name)) return false
  return /(^|\/)(npm|npx|pnpm|yarn)(-cli)?(\.c?js)?$/.test(first) || (name === 'bun' && (first === 'x' || first === 'run' || first === 'exec')) || /(^|\/)npm-cli\.js$/.test(second)
}

/**
 * A command line as words. Node.js programs that set `process.title` (npm and npx do: `npm exec
 * sess …`) rewrite `/proc/<pid>/cmdline` as one string followed by NULs: split that one on spaces.
 */
function words(argv: string[]): string[] {
  const [first = '', ...rest] = argv
  return first.includes(' ') && rest.every((arg) => arg === '') ? first.split(' ') : argv
}

function isShellCommand(pid: number): boolean {
  const [program = '', flag = ''] = processArgv(pid)
  return SHELLS.has(basename(program)) && flag === '-c'
}
