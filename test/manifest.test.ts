import {describe, expect, it} from 'vitest'
import {staleManifests} from '../tasks/manifest.ts'

describe('oclif manifests', () => {
  it('are up to date with the commands (run `bun run manifest` after changing a command)', async () => {
    expect(await staleManifests()).toEqual([])
  })
})
