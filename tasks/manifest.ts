/**
 * Generates the oclif manifests (`oclif.manifest.json`) of the CLI and of each first-party plugin,
 * so that oclif lists commands without importing them (fast start).
 *
 *   bun tasks/manifest.ts           write them
 *   bun tasks/manifest.ts --check   exit 1 if any is stale (used by the test suite)
 */
import {Plugin} from '@oclif/core'
import {readdirSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Roots of every oclif plugin in this repository: the CLI itself, then `plugins/*`. */
export function pluginRoots(): string[] {
  const plugins = readdirSync(join(root, 'plugins'), {withFileTypes: true})
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, 'plugins', entry.name))
    .sort()
  return [root, ...plugins]
}

/** The manifest oclif would build for the plugin at `pluginRoot`, as the text to store. */
export async function buildManifest(pluginRoot: string): Promise<string> {
  const plugin = new Plugin({errorOnManifestCreate: true, ignoreManifest: true, isRoot: pluginRoot === root, root: pluginRoot, type: 'core'})
  await plugin.load()
  return `${JSON.stringify(plugin.manifest, null, 2)}\n`
}

/** Paths (relative to the repository) of the manifests that differ from what would be built now. */
export async function staleManifests(): Promise<string[]> {
  const stale: string[] = []
  for (const pluginRoot of pluginRoots()) {
    const file = Bun.file(join(pluginRoot, 'oclif.manifest.json'))
    const current = (await file.exists()) ? await file.text() : ''
    if (current !== (await buildManifest(pluginRoot))) stale.push(relative(root, file.name!))
  }
  return stale
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const stale = await staleManifests()
    if (stale.length > 0) {
      console.error(`Stale oclif manifests: ${stale.join(', ')}. Run \`bun run manifest\`.`)
      process.exit(1)
    }
    console.log('oclif manifests are up to date.')
  } else {
    for (const pluginRoot of pluginRoots()) {
      const path = join(pluginRoot, 'oclif.manifest.json')
      await Bun.write(path, await buildManifest(pluginRoot))
      console.log(`wrote ${relative(root, path)}`)
    }
  }
}
