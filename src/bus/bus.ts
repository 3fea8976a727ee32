import {VetoError} from '../errors/index.ts'
import type {AfterEvents, BeforeEvents, BusEventName, BusEvents} from './events.ts'

/** What a `before`-style handler is given besides the payload. */
export interface BeforeContext {
  /** The plugin the handler belongs to. */
  readonly plugin: string
  /** Refuses the operation with a reason; the caller gets a {@link VetoError}. Never returns. */
  veto(reason: string): never
}

/**
 * A handler of a `before`-style event. It gets a frozen shallow copy of the payload and may
 * return a patch (the fields to replace) or nothing. Throwing is isolated: the patch is dropped,
 * the failure reported, and the operation goes on.
 */
export type BeforeHandler<E extends keyof BeforeEvents> = (
  payload: Readonly<BeforeEvents[E]>,
  context: BeforeContext,
) => Partial<BeforeEvents[E]> | void | Promise<Partial<BeforeEvents[E]> | void>

/** A handler of an after-the-fact event. Throwing is isolated and reported. */
export type AfterHandler<E extends keyof AfterEvents> = (payload: Readonly<AfterEvents[E]>) => void | Promise<void>

/** The handler type for any event. */
export type Handler<E extends BusEventName> = E extends keyof BeforeEvents
  ? BeforeHandler<E>
  : E extends keyof AfterEvents
    ? AfterHandler<E>
    : never

/** Where a handler runs among the others of its event. */
export interface HandlerOptions {
  /** Lower runs first; default 0. Format handlers of the persistence plugin use 1000 (last). */
  order?: number
}

/** A handler that threw: reported, never fatal. */
export interface HandlerFailure {
  plugin: string
  /** The event whose handler threw, or `register` when the plugin's `register` itself threw. */
  event: BusEventName | 'register'
  error: unknown
}

/** The part of the bus a plugin sees: registering handlers. */
export interface PluginBus {
  /**
   * Registers `handler` for `event`.
   *
   * @returns a function that unregisters it.
   */
  on<E extends BusEventName>(event: E, handler: Handler<E>, options?: HandlerOptions): () => void
}

/**
 * A sess plugin as the bus knows it: a name and a function that registers handlers. An oclif
 * plugin hands one to the CLI from its `sess:plugin` hook; an application passes them to
 * `openStore({plugins})`. The same object serves both.
 *
 * @example
 * ```ts
 * export const redactor: SessPlugin = {
 *   name: 'redactor',
 *   register(bus) {
 *     bus.on('session.saving', ({bytes}) => ({bytes: redact(bytes)}))
 *   },
 * }
 * ```
 */
export interface SessPlugin {
  readonly name: string
  register(bus: PluginBus): void | Promise<void>
}

interface Registration {
  plugin: string
  order: number
  seq: number
  handler: (payload: never, context: BeforeContext) => unknown
}

class VetoSignal {
  constructor(readonly reason: string) {}
}

/**
 * The session lifecycle bus (DESIGN §5): typed events the core emits and plugins handle.
 *
 * - Handlers of one event run one after another, in a defined order: `order` ascending, then
 *   plugin name, then registration order.
 * - `before`-style events ({@link BeforeEvents}) thread the payload through the handlers; any may
 *   patch it or veto with a reason.
 * - A handler that throws is isolated: its effect is dropped, the failure goes to the failure
 *   listener, and the operation goes on, so no plugin can lose or corrupt data.
 *
 * @example
 * ```ts
 * const bus = new LifecycleBus()
 * bus.plugin('audit').on('session.saved', ({session}) => log(session.id))
 * await bus.emit('session.saved', {session, version: 1, created: true})
 * ```
 */
export class LifecycleBus {
  readonly #handlers = new Map<BusEventName, Registration[]>()
  readonly #onFailure: (failure: HandlerFailure) => void
  #seq = 0

  /** @param onFailure receives every handler failure; by default one line on stderr. */
  constructor(onFailure?: (failure: HandlerFailure) => void) {
    this.#onFailure = onFailure ?? reportToStderr
  }

  /** The registering side of the bus for one plugin; handlers are tagged with its name. */
  plugin(name: string): PluginBus {
    return {
      on: (event, handler, options = {}) => this.#add(name, event, handler as Registration['handler'], options.order ?? 0),
    }
  }

  /** Registers a whole plugin. Errors thrown by its `register` are reported, not thrown. */
  async use(plugin: SessPlugin): Promise<void> {
    try {
      await plugin.register(this.plugin(plugin.name))
    } catch (error) {
      this.#onFailure({plugin: plugin.name, event: 'register', error})
    }
  }

  /** Whether any handler is registered for `event`. */
  has(event: BusEventName): boolean {
    return (this.#handlers.get(event)?.length ?? 0) > 0
  }

  /**
   * Runs a `before`-style event and returns the payload as the handlers left it.
   *
   * @throws {VetoError} when a handler vetoes.
   */
  async before<E extends keyof BeforeEvents>(event: E, payload: BeforeEvents[E]): Promise<BeforeEvents[E]> {
    let current = payload
    for (const registration of this.#handlers.get(event) ?? []) {
      const context: BeforeContext = {
        plugin: registration.plugin,
        veto(reason: string): never {
          throw new VetoSignal(reason)
        },
      }
      try {
        const patch = (await registration.handler(Object.freeze({...current}) as never, context)) as Partial<BusEvents[E]> | undefined
        if (patch && typeof patch === 'object') current = {...current, ...patch}
      } catch (error) {
        if (error instanceof VetoSignal) throw new VetoError(registration.plugin, error.reason)
        this.#onFailure({plugin: registration.plugin, event, error})
      }
    }
    return current
  }

  /** Runs an after-the-fact event. Never throws. */
  async emit<E extends keyof AfterEvents>(event: E, payload: AfterEvents[E]): Promise<void> {
    const frozen = Object.freeze({...payload})
    for (const registration of this.#handlers.get(event) ?? []) {
      try {
        await registration.handler(frozen as never, noVeto(registration.plugin))
      } catch (error) {
        this.#onFailure({plugin: registration.plugin, event, error})
      }
    }
  }

  #add(plugin: string, event: BusEventName, handler: Registration['handler'], order: number): () => void {
    const list = this.#handlers.get(event) ?? []
    const registration: Registration = {handler, order, plugin, seq: this.#seq++}
    list.push(registration)
    list.sort((a, b) => a.order - b.order || compare(a.plugin, b.plugin) || a.seq - b.seq)
    this.#handlers.set(event, list)
    return () => {
      const index = list.indexOf(registration)
      if (index !== -1) list.splice(index, 1)
    }
  }
}

function noVeto(plugin: string): BeforeContext {
  return {
    plugin,
    veto(): never {
      throw new Error('veto() is only possible in a before-style event (session.saving, session.restoring, records.writing, lock.checking, gc.planned)')
    },
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function reportToStderr(failure: HandlerFailure): void {
  const reason = failure.error instanceof Error ? failure.error.message : String(failure.error)
  process.stderr.write(`sess: warning: plugin ${failure.plugin} failed in ${failure.event} (${reason}); carried on without it\n`)
}
