import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    // Under Bun, vitest runs only with worker threads (child-process forks fail).
    pool: 'threads',
    // @oclif/test captures stdout itself; vitest must not intercept the console first.
    disableConsoleIntercept: true,
    // The PostgreSQL server of the suites that run on both database engines.
    globalSetup: ['test/setup/postgres.ts'],
    include: ['src/**/*.test.ts', 'plugins/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
