import {describe, expect, it} from 'vitest'
import {VetoError} from '../errors/index.ts'
import {type HandlerFailure, LifecycleBus} from './bus.ts'
import type {SavingPayload} from './events.ts'

const saving = (text: string): SavingPayload => ({allowRaw: true, bytes: new TextEncoder().encode(text), settings: () => ({})})
const text = (payload: SavingPayload) => new TextDecoder().decode(payload.bytes)

describe('LifecycleBus', () => {
  it('runs handlers by order, then plugin name, then registration order', async () => {
    const bus = new LifecycleBus()
    const seen: string[] = []
    bus.plugin('zeta').on('session.removed', () => void seen.push('zeta'))
    bus.plugin('alpha').on('session.removed', () => void seen.push('alpha-1'))
    bus.plugin('late').on('session.removed', () => void seen.push('late'), {order: 10})
    bus.plugin('early').on('session.removed', () => void seen.push('early'), {order: -10})
    bus.plugin('alpha').on('session.removed', () => void seen.push('alpha-2'))
    await bus.emit('session.removed', {purged: false, session: {} as never})
    expect(seen).toEqual(['early', 'alpha-1', 'alpha-2', 'zeta', 'late'])
  })

  it('threads patches of before-style handlers through, in order', async () => {
    const bus = new LifecycleBus()
    bus.plugin('a').on('session.saving', (p) => ({bytes: new TextEncoder().encode(`${text(p as SavingPayload)}+a`)}))
    bus.plugin('b').on('session.saving', (p) => ({bytes: new TextEncoder().encode(`${text(p as SavingPayload)}+b`)}))
    expect(text(await bus.before('session.saving', saving('x')))).toBe('x+a+b')
  })

  it('turns a veto into a VetoError naming the plugin and stops later handlers', async () => {
    const bus = new LifecycleBus()
    let later = false
    bus.plugin('guard').on('session.saving', (_p, context) => context.veto('contains a secret'))
    bus.plugin('other').on('session.saving', () => void (later = true), {order: 5})
    const error = await bus.before('session.saving', saving('x')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(VetoError)
    expect((error as VetoError).plugin).toBe('guard')
    expect((error as VetoError).message).toContain('contains a secret')
    expect(later).toBe(false)
  })

  it('isolates a throwing handler: its patch is dropped, the failure reported, the rest run', async () => {
    const failures: HandlerFailure[] = []
    const bus = new LifecycleBus((f) => failures.push(f))
    bus.plugin('broken').on('session.saving', () => {
      throw new Error('boom')
    })
    bus.plugin('mutator').on('session.saving', (p) => {
      ;(p as {bytes: Uint8Array}).bytes = new Uint8Array() // frozen copy: has no effect
      throw new Error('half-done')
    })
    bus.plugin('fine').on('session.saving', (p) => ({format: `${text(p as SavingPayload)}-ok`}), {order: 1})
    const result = await bus.before('session.saving', saving('x'))
    expect(text(result)).toBe('x')
    expect(result.format).toBe('x-ok')
    expect(failures.map((f) => [f.plugin, f.event])).toEqual([
      ['broken', 'session.saving'],
      ['mutator', 'session.saving'],
    ])
  })

  it('isolates failures of after-the-fact handlers and of register itself', async () => {
    const failures: HandlerFailure[] = []
    const bus = new LifecycleBus((f) => failures.push(f))
    let ran = false
    bus.plugin('a').on('session.created', async () => {
      throw new Error('async boom')
    })
    bus.plugin('b').on('session.created', () => void (ran = true))
    await bus.use({name: 'bad-register', register: () => {
      throw new Error('cannot register')
    }})
    await bus.emit('session.created', {session: {} as never})
    expect(ran).toBe(true)
    expect(failures.map((f) => [f.plugin, f.event])).toEqual([
      ['bad-register', 'register'],
      ['a', 'session.created'],
    ])
  })

  it('unregisters a handler', async () => {
    const bus = new LifecycleBus()
    let count = 0
    const off = bus.plugin('p').on('session.created', () => void count++)
    await bus.emit('session.created', {session: {} as never})
    off()
    await bus.emit('session.created', {session: {} as never})
    expect(count).toBe(1)
    expect(bus.has('session.created')).toBe(false)
  })
})
