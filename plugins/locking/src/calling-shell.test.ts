/**
 * callingProcess(): the process a `sess lock acquire` lease belongs to. A probe script run under
 * real process chains prints what it finds; each chain starts with `sh -c 'echo $$; …'`, so the
 * expected caller is that shell (the trailing `; true` keeps each shell from exec'ing its last
 * command, so that every link of the chain is a process of its own).
 */
import {existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync} from 'node:fs'
import {basename, delimiter, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {REPO, useTempDir} from '../../../test/helpers/cli.ts'

const dir = useTempDir('sess-calling-shell-')
const probe = join(dir.path, 'probe.ts')
writeFileSync(
  probe,
  `import {callingProcess} from ${JSON.stringify(join(REPO, 'plugins', 'locking', 'src', 'calling-shell.ts'))}
console.log(JSON.stringify({caller: callingProcess(), ppid: process.ppid}))
`,
)
/** `bun` (by that name: process.execPath is `bun.exe` when Bun comes from npm). */
const bun = join(dir.path, 'bun')
symlinkSync(process.execPath, bun)
/** A fake `npx`: a shell under a launcher's name. */
const npx = join(dir.path, 'npx')
symlinkSync('/bin/sh', npx)
/** A script that `bun run` runs, which runs the probe (as `npx sess` / `bun run sess` would run sess). */
const launch = join(dir.path, 'launch.ts')
writeFileSync(launch, `Bun.spawnSync([process.env.BUN!, process.env.PROBE!], {stdio: ['inherit', 'inherit', 'inherit']})\n`)

/** A package whose `probe` script runs the probe, for `npm run probe` (a local run: no registry). */
const pkg = join(dir.path, 'pkg')
mkdirSync(pkg)
writeFileSync(join(pkg, 'package.json'), JSON.stringify({name: 'probe-pkg', private: true, scripts: {probe: '"$BUN" "$PROBE"'}, version: '0.0.0'}))

/**
 * Node.js itself, not the `node` that `bun --bun` puts first on the PATH (Bun leaves
 * /proc/<pid>/cmdline alone when process.title is set; Node.js rewrites it, as npm and npx run).
 * Empty when there is none (sess needs Node.js 20+ and npm; see README).
 */
const node =
  (process.env.PATH ?? '')
    .split(delimiter)
    .map((entry) => join(entry, 'node'))
    .find((candidate) => existsSync(candidate) && !basename(realpathSync(candidate)).startsWith('bun')) ?? ''
const onPath = Bun.which('npm')
/** npm's own script (npm-cli.js), to run with {@link node}. */
const npm = onPath === null ? '' : realpathSync(onPath)

/** Runs `sh -c SCRIPT` (which must print `$$` first), and returns that shell's pid and what the probe printed. */
function chain(script: string): {shell: number; caller: number; ppid: number} {
  const env = {...process.env, BUN: bun, NODE: node, NPM: npm, NPX: npx, PROBE: probe, npm_config_loglevel: 'silent', npm_config_update_notifier: 'false'}
  const result = Bun.spawnSync(['sh', '-c', script], {cwd: pkg, env, stdin: 'ignore'})
  const lines = result.stdout.toString().trim().split('\n')
  if (result.exitCode !== 0 || lines.length !== 2) throw new Error(`chain failed (exit ${result.exitCode}): ${result.stdout}${result.stderr}`)
  return {shell: Number(lines[0]), ...(JSON.parse(lines[1]!) as {caller: number; ppid: number})}
}

describe('callingProcess', () => {
  it('is the sh that ran the command', () => {
    const {caller, ppid, shell} = chain('echo $$; "$BUN" "$PROBE"; true')
    expect(shell).toBeGreaterThan(1)
    expect(ppid).toBe(shell)
    expect(caller).toBe(shell)
  })

  it('skips a launcher (argv[0] named npx) to its caller', () => {
    const {caller, ppid, shell} = chain(`echo $$; "$NPX" -c '"$BUN" "$PROBE"; true'; true`)
    expect(ppid).not.toBe(shell) // the fake npx
    expect(caller).toBe(shell)
  })

  it('skips the `sh -c` a launcher starts, and the launcher', () => {
    const {caller, ppid, shell} = chain(`echo $$; "$NPX" -c 'sh -c "\\"\\$BUN\\" \\"\\$PROBE\\"; true"; true'; true`)
    expect(ppid).not.toBe(shell) // the inner sh -c
    expect(caller).toBe(shell)
  })

  it('skips `bun run` to its caller', () => {
    const {caller, ppid, shell} = chain(`echo $$; "$BUN" run ${JSON.stringify(launch)}; true`)
    expect(ppid).not.toBe(shell) // bun run
    expect(caller).toBe(shell)
  })

  // npm and npx run under Node.js, which rewrites /proc/<pid>/cmdline when npm sets process.title:
  // it then reads `npm run probe\0\0…`, one argument, in which isLauncher() does not see npm.
  it('skips `npm run` and the `sh -c` it starts, to its caller', () => {
    expect(node, 'Node.js on the PATH').not.toBe('')
    const {caller, ppid, shell} = chain('echo $$; "$NODE" "$NPM" run --silent probe; true')
    expect(ppid).not.toBe(shell) // npm's sh -c (or npm, if that sh execs the probe)
    expect(caller).toBe(shell)
  })

  it('skips a Node.js process titled as npx titles itself (`npm exec sess …`) and its `sh -c`, to its caller', () => {
    expect(node, 'Node.js on the PATH').not.toBe('')
    const titled = `process.title = 'npm exec sess lock acquire doc'; require('node:child_process').spawnSync('sh', ['-c', '"$BUN" "$PROBE"; true'], {stdio: 'inherit'})`
    writeFileSync(join(dir.path, 'titled.cjs'), titled)
    const {caller, ppid, shell} = chain(`echo $$; "$NODE" ${JSON.stringify(join(dir.path, 'titled.cjs'))}; true`)
    expect(ppid).not.toBe(shell)
    expect(caller).toBe(shell)
  })

  it('skips Node.js running npm-cli.js (npm before it sets its title), and its `sh -c`, to its caller', () => {
    expect(node, 'Node.js on the PATH').not.toBe('')
    // The control for the two above: the same chain, recognised while the command line is intact.
    const script = join(dir.path, 'untitled', 'npm-cli.js')
    mkdirSync(join(dir.path, 'untitled'), {recursive: true})
    writeFileSync(script, `require('node:child_process').spawnSync('sh', ['-c', '"$BUN" "$PROBE"; true'], {stdio: 'inherit'})`)
    writeFileSync(join(dir.path, 'untitled', 'package.json'), '{"type": "commonjs"}')
    const {caller, ppid, shell} = chain(`echo $$; "$NODE" ${JSON.stringify(script)}; true`)
    expect(ppid).not.toBe(shell)
    expect(caller).toBe(shell)
  })

  it('does not skip a shell that is not run by a launcher, even below one that is', () => {
    // npx -c 'sh script.sh': the script's shell is the caller, not npx's caller.
    const script = join(dir.path, 'caller.sh')
    writeFileSync(script, 'echo $$ >&2\n"$BUN" "$PROBE"\ntrue\n')
    const result = Bun.spawnSync(['sh', '-c', `"$NPX" -c 'sh ${script}; true'; true`], {env: {...process.env, BUN: bun, NPX: npx, PROBE: probe}, stdin: 'ignore'})
    expect(result.exitCode).toBe(0)
    const shell = Number(result.stderr.toString().trim())
    const {caller, ppid} = JSON.parse(result.stdout.toString()) as {caller: number; ppid: number}
    expect(ppid).toBe(shell)
    expect(caller).toBe(shell)
  })
})
