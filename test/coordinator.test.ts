/**
 * The multi-session coordinator through the CLI, each command a process of its own: sess new,
 * switch, current, close, rename, list --active/--waiting, and commands defaulting to the current
 * session; terminals told apart by SESS_TERMINAL, directories by the working directory.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {openStore} from '../src/index.ts'
import {sess, sessJson, useTempDir} from './helpers/cli.ts'

const dir = useTempDir('sess-coordinator-cli-')
const home = join(dir.path, 'store')
const t1 = {env: {SESS_TERMINAL: 'one'}}
const t2 = {env: {SESS_TERMINAL: 'two'}}

interface Named {
  name: string
  id: string
  status: string
  mode: string
}

describe('sess new, switch, current, close, rename', () => {
  it('new: names, the current session of the terminal, exit codes and --json', () => {
    const made = sessJson<{session: Named; pointer: {scope: string; key: string}; previous: null}>(home, ['new', 'agent', 'fix-login'], t1)
    expect(made.code).toBe(0)
    expect(made.json).toMatchObject({pointer: {key: 'env:one', scope: 'terminal'}, previous: null, session: {kind: 'agent', mode: 'foreground', name: 'fix-login', status: 'active'}})
    const generated = sess(home, ['new'], t1)
    expect(generated.code).toBe(0)
    expect(generated.stdout).toMatch(/^chat-\d{8}-\d{6}\n$/)
    expect(generated.stderr).toContain('fix-login is now in the background.')
    expect(sess(home, ['new', 'chat', 'fix-login'], t1).code).toBe(2)
    const bad = sessJson<{error: {code: string; exitCode: number}}>(home, ['new', 'chat', '../etc'], t1)
    expect(bad).toMatchObject({code: 2, json: {error: {code: 'E_INVALID_INPUT', exitCode: 2}}})
    expect(sess(home, ['current'], t1).stdout).toBe(`${generated.stdout}`)
  })

  it('current: one terminal does not see another, a fresh one has none (exit 4)', () => {
    sess(home, ['new', 'chat', 'second'], t2)
    expect(sess(home, ['current'], t2).stdout).toBe('second\n')
    const none = sess(home, ['current'], {env: {SESS_TERMINAL: 'three'}})
    expect(none.code).toBe(4)
    expect(none.stderr).toContain('No current session in this terminal or directory.')
    const json = sessJson<{error: {code: string}}>(home, ['current'], {env: {SESS_TERMINAL: 'three'}})
    expect(json).toMatchObject({code: 4, json: {error: {code: 'E_NOT_FOUND'}}})
  })

  it('switch: to a session, to a missing one (4), outside a terminal without --dir (2); --json', () => {
    const switched = sessJson<{session: Named; previous: Named; replayed: {events: number; text: string}}>(home, ['switch', 'fix-login'], t1)
    expect(switched.code).toBe(0)
    expect(switched.json.session).toMatchObject({mode: 'foreground', name: 'fix-login'})
    expect(switched.json.previous.name).toMatch(/^chat-/)
    expect(switched.json.replayed).toEqual({bytes: 0, events: 0, text: ''})
    expect(sess(home, ['current'], t1).stdout).toBe('fix-login\n')
    expect(sess(home, ['current'], t2).stdout).toBe('second\n')
    expect(sess(home, ['switch', 'nope'], t1).code).toBe(4)
    expect(sess(home, ['switch', 'fix-login'], {env: {SESS_TERMINAL: ''}}).code).toBe(2)
  })

  it('switch --dir: the directory and those below it, after the terminal', () => {
    const project = join(dir.path, 'project')
    mkdirSync(join(project, 'src', 'deep'), {recursive: true})
    const here = {cwd: project, env: {SESS_TERMINAL: ''}}
    expect(sess(home, ['switch', 'second', '--dir'], here).code).toBe(0)
    expect(sess(home, ['current'], {cwd: join(project, 'src', 'deep'), env: {SESS_TERMINAL: ''}}).stdout).toBe('second\n')
    expect(sess(home, ['current'], {cwd: join(project, 'src'), env: {SESS_TERMINAL: 'one'}}).stdout).toBe('fix-login\n')
    const json = sessJson<{scope: string; key: string}>(home, ['current'], {cwd: join(project, 'src'), env: {SESS_TERMINAL: ''}})
    expect(json.json).toMatchObject({key: project, scope: 'directory'})
    expect(sess(home, ['current'], {cwd: dir.path, env: {SESS_TERMINAL: ''}}).code).toBe(4)
  })

  it('switch replays the output a background session missed, and only that', async () => {
    expect(sess(home, ['new', 'chat', 'third'], t1).code).toBe(0)
    {
      await using store = await openStore({home})
      await store.appendOutput('third', {code: 'o', data: 'seen\r\n', time: 0})
    }
    sess(home, ['switch', 'fix-login'], t1)
    {
      await using store = await openStore({home})
      await store.appendOutput('third', [{code: 'o', data: 'missed 1\r\n', time: 1}, {code: 'e', data: 'missed 2\r\n', time: 2}])
    }
    const back = sess(home, ['switch', 'third'], t1)
    expect(back.stdout).toBe('missed 1\r\nmissed 2\r\n')
    expect(back.stderr).toContain('2 events of output it missed replayed above')
    sess(home, ['switch', 'fix-login'], t1)
    {
      await using store = await openStore({home})
      await store.appendOutput('third', {code: 'o', data: 'missed 3\r\n', time: 3})
    }
    const json = sessJson<{replayed: {events: number; text: string}}>(home, ['switch', 'third'], t1)
    expect(json.json.replayed).toMatchObject({events: 1, text: 'missed 3\r\n'})
    // A session another terminal shows stays in the foreground: nothing to replay.
    sess(home, ['switch', 'second'], t1)
    expect(sess(home, ['switch', 'fix-login'], t1).code).toBe(0)
    expect(sessJson<{session: Named}>(home, ['show', 'second']).json.session.mode).toBe('foreground')
    sess(home, ['switch', 'second'], t1)
  })

  it('list marks the current session and filters --active and --waiting', async () => {
    {
      await using store = await openStore({home})
      await store.create({name: 'asking', status: 'waiting_for_input'})
    }
    const rows = sess(home, ['list'], t1).stdout.split('\n')
    expect(rows.find((row) => row.includes('second'))).toMatch(/^\*\s+second\s/)
    expect(rows.filter((row) => row.startsWith('*'))).toHaveLength(1)
    expect(sessJson<Named[]>(home, ['list', '--waiting'], t1).json.map((s) => s.name)).toEqual(['asking'])
    const active = sessJson<Named[]>(home, ['list', '--active'], t1).json.map((s) => s.name)
    expect(active.filter((name) => !name.startsWith('chat-')).sort()).toEqual(['asking', 'fix-login', 'second', 'third'])
    expect(active.filter((name) => name.startsWith('chat-'))).toHaveLength(1)
    expect(sess(home, ['list', '--active', '--status', 'paused']).code).toBe(2)
  })

  it('show, pin and restore default to the current session; rm does not', () => {
    expect(sessJson<{session: Named}>(home, ['show'], t1).json.session.name).toBe('second')
    expect(sessJson<{name: string}[]>(home, ['pin'], t1).json).toMatchObject([{name: 'second', pinned: true}])
    expect(sess(home, ['rm'], t1).code).toBe(2)
    expect(sess(home, ['show'], {env: {SESS_TERMINAL: 'nobody'}}).code).toBe(4)
  })

  it('rename: the current one (one name), collisions (2), missing (4), --json', () => {
    const renamed = sessJson<{session: Named; previousName: string}>(home, ['rename', 'second-take'], t1)
    expect(renamed).toMatchObject({code: 0, json: {previousName: 'second', session: {name: 'second-take'}}})
    expect(sess(home, ['current'], t1).stdout).toBe('second-take\n')
    expect(sess(home, ['rename', 'second-take', 'fix-login']).code).toBe(2)
    expect(sess(home, ['rename', 'second-take', 'bad name']).code).toBe(2)
    expect(sess(home, ['rename', 'ghost', 'x']).code).toBe(4)
    expect(sess(home, ['rename', 'fix-login', 'fix-login-2']).stdout).toBe('Renamed fix-login to fix-login-2.\n')
  })

  it('close: the current one by default, then a clear error; a trashed current session says so', () => {
    const closed = sessJson<{session: Named & {closedAt: number}; pointers: number; releasedLock: boolean}>(home, ['close'], t1)
    expect(closed.code).toBe(0)
    expect(closed.json).toMatchObject({pointers: 3, releasedLock: false, session: {mode: 'background', name: 'second-take', status: 'completed'}})
    expect(sess(home, ['close'], t1).code).toBe(4)
    expect(sess(home, ['close', 'ghost']).code).toBe(4)
    sess(home, ['switch', 'fix-login-2'], t1)
    sess(home, ['rm', 'fix-login-2'])
    const trashed = sess(home, ['current'], t1)
    expect(trashed.code).toBe(4)
    expect(trashed.stderr).toContain('The current session of this terminal, fix-login-2, is in the trash.')
    expect(trashed.stderr).toContain('sess restore --from-trash fix-login-2')
  })

  it('new past sessions.maxActive exits 1 naming the limit, the count and the fix', () => {
    expect(sess(home, ['config', 'set', 'sessions.maxActive', '2']).code).toBe(0)
    const refused = sess(home, ['new'], t1)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/Error: \d+ sessions are active, and sessions.maxActive allows 2\.\nHint: Close one .*sess config set sessions.maxActive 7/)
    expect(sessJson<{error: {code: string}}>(home, ['new'], t1).json.error.code).toBe('E_LIMIT')
  })
})
