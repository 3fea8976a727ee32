import {hostname} from 'node:os'
import {processStat} from '../os/process.ts'

/** The environment variable that names the terminal outright (for scripts and tests). */
export const TERMINAL_ENV = 'SESS_TERMINAL'

/**
 * The identity of the terminal this process runs in, as the key of its current-session pointer,
 * or `null` when it runs in none. In order:
 * 1. `$SESS_TERMINAL`, as given (`env:<value>`): scripts and tests name their terminal themselves;
 * 2. a tmux pane: `$TMUX_PANE` with the server of `$TMUX` (socket path and server pid), so that
 *    every pane is a terminal of its own however many share one pty's session (`tmux:<socket>,<pid>:<pane>`);
 * 3. the controlling terminal: its device (proc(5) `/proc/<pid>/stat` field 7, `tty_nr`) with the
 *    terminal session (field 6, the session leader's pid, usually the shell's) and that leader's
 *    start time (field 22), on this host. A pty reused by a new terminal has a new session leader,
 *    so it is a new terminal: a pointer never carries over to a stranger's shell
 *    (`tty:<host>:pts/3:<sid>@<start time>`).
 *
 * @param pid the process whose terminal it is (default: this one; its children share it).
 */
export function terminalIdentity(env: NodeJS.ProcessEnv = process.env, pid = process.pid): string | null {
  const named = env[TERMINAL_ENV]
  if (named) return `env:${named}`
  if (env.TMUX_PANE && env.TMUX) return `tmux:${env.TMUX.split(',').slice(0, 2).join(',')}:${env.TMUX_PANE}`
  const stat = processStat(pid)
  if (!stat || stat.ttyNr === 0 || stat.session <= 0) return null
  const leader = processStat(stat.session)
  return `tty:${hostname()}:${ttyName(stat.ttyNr)}:${stat.session}@${leader?.startTime ?? '?'}`
}

/**
 * A terminal device's name from its `tty_nr` (major in bits 8–15, minor in bits 0–7 and 20–31):
 * `pts/N` for a pseudo-terminal (majors 136–143), `ttyN` for a virtual console (major 4), else
 * `major:minor`.
 */
export function ttyName(ttyNr: number): string {
  const major = (ttyNr >> 8) & 0xfff
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00)
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`
  if (major === 4) return `tty${minor}`
  return `${major}:${minor}`
}
