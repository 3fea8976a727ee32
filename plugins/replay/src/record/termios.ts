import {dlopen, FFIType} from 'bun:ffi'

/** `tcsetattr` action: apply at once. */
const TCSANOW = 0

/** Bytes reserved for a `struct termios` (60 on Linux, 72 on macOS): treated as opaque. */
const TERMIOS_BYTES = 256

let libc: ReturnType<typeof loadLibc> | undefined

function loadLibc() {
  return dlopen(process.platform === 'darwin' ? 'libSystem.B.dylib' : 'libc.so.6', {
    cfmakeraw: {args: [FFIType.ptr], returns: FFIType.void},
    tcgetattr: {args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32},
    tcsetattr: {args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32},
  }).symbols
}

/**
 * Puts the terminal on `fd` in raw mode, as `cfmakeraw(3)` defines it (no echo, no line editing,
 * no signal keys, no output processing: bytes pass through both ways untouched), and returns the
 * function that restores the settings it had. The restore also runs when the process exits.
 *
 * @returns `undefined` when `fd` is not a terminal.
 */
export function enterRawMode(fd: number): (() => void) | undefined {
  libc ??= loadLibc()
  const saved = new Uint8Array(TERMIOS_BYTES)
  if (libc.tcgetattr(fd, saved) !== 0) return undefined
  const raw = saved.slice()
  libc.cfmakeraw(raw)
  if (libc.tcsetattr(fd, TCSANOW, raw) !== 0) return undefined
  let restored = false
  const restore = () => {
    if (restored) return
    restored = true
    process.off('exit', restore)
    libc!.tcsetattr(fd, TCSANOW, saved)
  }
  process.on('exit', restore)
  return restore
}
