export {
  type AfterHandler,
  type BeforeContext,
  type BeforeHandler,
  type Handler,
  type HandlerFailure,
  type HandlerOptions,
  LifecycleBus,
  type PluginBus,
  type SessPlugin,
} from './bus.ts'
export * from './events.ts'
