#!/usr/bin/env bun
import {execute, settings} from '@oclif/core'

// Bun runs TypeScript itself: oclif need not look for sources to transpile (in sess or in linked plugins).
settings.enableAutoTranspile = false

await execute({dir: import.meta.url})
