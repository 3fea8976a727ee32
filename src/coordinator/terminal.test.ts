import {describe, expect, it} from 'vitest'
import {terminalIdentity, ttyName} from './terminal.ts'

describe('terminal identity', () => {
  it('is SESS_TERMINAL when set, else the tmux pane, else the controlling tty with its terminal session', () => {
    expect(terminalIdentity({SESS_TERMINAL: 'ci-7', TMUX: '/tmp/tmux-1000/default,4242,0', TMUX_PANE: '%3'})).toBe('env:ci-7')
    expect(terminalIdentity({TMUX: '/tmp/tmux-1000/default,4242,0', TMUX_PANE: '%3'})).toBe('tmux:/tmp/tmux-1000/default,4242:%3')
    // The test runner has no controlling terminal (a pipe), or one with a session leader.
    const own = terminalIdentity({})
    expect(own === null || /^tty:[^:]+:[^:]+:\d+@\d+$/.test(own)).toBe(true)
  })

  it('names terminal devices from tty_nr', () => {
    expect(ttyName((136 << 8) | 3)).toBe('pts/3')
    expect(ttyName((137 << 8) | 1)).toBe('pts/257')
    expect(ttyName((4 << 8) | 2)).toBe('tty2')
    expect(ttyName((136 << 8) | (1 << 20) | 5)).toBe('pts/261')
  })
})
