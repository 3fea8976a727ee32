/**
 * The host identity that lock holders and session owners record: `$SESS_HOST_ID`, else the machine
 * id or the host name, set apart in a pid namespace of its own; and hostId() as a process sees it.
 */
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {REPO} from '../../test/helpers/cli.ts'
import {InvalidInputError} from '../errors/index.ts'
import {HOST_ID_ENV, type HostFacts, hostId, hostIdentity} from './host.ts'

const MACHINE = '3d1219c7c4c5404aaa1f6d2a48adfda4'
const facts: HostFacts = {given: undefined, hostname: 'build-7', machineId: `${MACHINE}\n`, pidNamespace: 'pid:[4026531836]'}

/** What hostId() gives in a new process with environment `env`. */
function hostIdOfChild(env: Record<string, string | undefined>): {code: number; stdout: string; stderr: string} {
  const script = `import {hostId} from ${JSON.stringify(join(REPO, 'src', 'os', 'host.ts'))}\ntry { console.log(hostId()) } catch (error) { console.error(error.message); process.exit(2) }`
  const result = Bun.spawnSync([process.execPath, '-e', script], {env, stdin: 'ignore'})
  return {code: result.exitCode ?? -1, stderr: result.stderr.toString().trim(), stdout: result.stdout.toString().trim()}
}

describe('hostIdentity', () => {
  it('is the machine id outside containers, else the host name', () => {
    expect(hostIdentity(facts)).toBe(MACHINE)
    for (const machineId of [null, '', 'uninitialized\n', MACHINE.toUpperCase(), MACHINE.slice(1)]) {
      expect([machineId, hostIdentity({...facts, machineId})]).toEqual([machineId, 'build-7'])
    }
  })

  it('names the pid namespace when the process runs in one of its own: its pids mean nothing outside it', () => {
    expect(hostIdentity({...facts, pidNamespace: 'pid:[4026532291]'})).toBe(`${MACHINE}/pidns:4026532291`)
    expect(hostIdentity({...facts, machineId: null, pidNamespace: 'pid:[4026532291]'})).toBe('build-7/pidns:4026532291')
    expect(hostIdentity({...facts, pidNamespace: null})).toBe(MACHINE)
  })

  it('is $SESS_HOST_ID when set (trimmed), whatever the machine', () => {
    expect(hostIdentity({...facts, given: ' ci-runner-3\n', pidNamespace: 'pid:[4026532291]'})).toBe('ci-runner-3')
    expect(hostIdentity({...facts, given: ''})).toBe(MACHINE)
    expect(hostIdentity({...facts, given: 'x'.repeat(255)})).toBe('x'.repeat(255))
  })

  it('refuses a $SESS_HOST_ID with spaces, control characters or over 255 characters (InvalidInputError, exit 2)', () => {
    for (const given of ['two words', 'tab\there', 'é', 'x'.repeat(256)]) {
      const error = (() => {
        try {
          hostIdentity({...facts, given})
        } catch (caught) {
          return caught
        }
      })()
      expect([given, error]).toEqual([given, expect.any(InvalidInputError)])
      expect(error).toMatchObject({exitCode: 2, hint: expect.stringContaining(HOST_ID_ENV)})
    }
  })
})

describe('hostId', () => {
  it('is the same in every process of this host, and $SESS_HOST_ID in a process that sets it', () => {
    const {[HOST_ID_ENV]: _, ...unset} = process.env
    expect(hostIdOfChild(unset)).toEqual({code: 0, stderr: '', stdout: hostId()})
    expect(hostIdOfChild({...unset, [HOST_ID_ENV]: 'host-a'})).toEqual({code: 0, stderr: '', stdout: 'host-a'})
    expect(hostIdOfChild({...unset, [HOST_ID_ENV]: 'two words'})).toMatchObject({code: 2, stderr: expect.stringContaining(`${HOST_ID_ENV} must be 1 to 255 visible ASCII characters`)})
  })
})
