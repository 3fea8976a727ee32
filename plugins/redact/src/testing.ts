/**
 * Test support for the redact plugin: generated credentials of every rule as they appear in text
 * (realistic shapes, random bodies: no real secret is in this repository), look-alikes that are
 * not secrets, text that holds no rule's literal, and near-matches. Used by the tests of this
 * plugin, the CLI's redaction tests and the redaction benchmark only.
 *
 * @packageDocumentation
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import fc from 'fast-check'

/** A generated credential as it appears in text: `text` holds `secret`, and becomes `masked`. */
export interface SecretSample {
  /** The rule that should mask it. */
  rule: string
  /** The credential with its context (`DB_PASSWORD=…`, `Authorization: Bearer …`), as written. */
  text: string
  /** What must be gone after masking (the key itself, a value, a private key's base64 body). */
  secret: string
  /** `text` once masked: its context kept, the secret replaced by `[REDACTED:<rule>]`. */
  masked: string
}

/** A sample of `rule` whose `text` ends with `secret` or with it and a closing quote. */
function sample(rule: string, text: string, secret: string): SecretSample {
  const at = text.lastIndexOf(secret)
  return {masked: `${text.slice(0, at)}[REDACTED:${rule}]${text.slice(at + secret.length)}`, rule, secret, text}
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const DIGITS = '0123456789'
const ALNUM = UPPER + LOWER + DIGITS
const BASE64URL = `${ALNUM}-_`
const BASE64 = `${ALNUM}+/`

/** Strings of `min` to `max` characters of `alphabet`. */
function chars(alphabet: string, min: number, max = min): fc.Arbitrary<string> {
  return fc.string({maxLength: max, minLength: min, unit: fc.constantFrom(...alphabet)})
}

/** A random key body with at least one upper-case letter, lower-case letter and digit, as a generated key has. */
function mixed(alphabet: string, min: number, max: number): fc.Arbitrary<string> {
  return fc.tuple(chars(alphabet, min - 3, max - 3), chars(UPPER, 1), chars(LOWER, 1), chars(DIGITS, 1)).map(([body, u, l, d]) => `${u}${body}${l}${d}`)
}

/** A sample whose text is the secret itself. */
function bare(rule: string, secret: fc.Arbitrary<string>): fc.Arbitrary<SecretSample> {
  return secret.map((text) => sample(rule, text, text))
}

/** Names of secret assignments, in the cases they are written in. */
const SECRET_NAMES = ['API_KEY', 'OPENAI_API_KEY', 'DB_PASSWORD', 'PASSWORD', 'CLIENT_SECRET', 'GITHUB_TOKEN', 'session_token', 'db_passwd', 'STRIPE_SECRET_KEY', 'SSH_PASSPHRASE', 'Secret']

/** Characters of an unquoted assignment value (no space, quote, `$`, `=`, bracket or shell operator). */
const VALUE = `${ALNUM}!@#%^*+._~:/-`

/** PEM labels of private keys. */
const PEM_LABELS = ['RSA ', 'EC ', 'DSA ', 'OPENSSH ', 'ENCRYPTED ', '']

/** One arbitrary per rule, by rule name. */
export const SECRET_ARBITRARIES: Readonly<Record<string, fc.Arbitrary<SecretSample>>> = {
  anthropic: bare('anthropic', chars(BASE64URL, 93).map((body) => `sk-ant-api03-${body}AA`)),
  'aws-access-key-id': bare('aws-access-key-id', fc.tuple(fc.constantFrom('AKIA', 'ASIA'), chars(UPPER + DIGITS, 16)).map(([prefix, body]) => prefix + body)),
  'aws-secret-access-key': fc
    .tuple(fc.constantFrom('aws_secret_access_key = ', 'AWS_SECRET_ACCESS_KEY=', '"aws_secret_access_key": "'), chars(BASE64, 40))
    .map(([context, secret]) => sample('aws-secret-access-key', `${context}${secret}${context.endsWith('"') ? '"' : ''}`, secret)),
  bearer: fc
    .tuple(fc.constantFrom(['Authorization: Bearer ', ''], ["'Authorization': 'Bearer ", "'"], ['authorization: bearer ', '']), chars(BASE64URL, 10, 40), chars(BASE64URL, 10, 80), chars(BASE64URL, 20, 43))
    .map(([[before, after], header, payload, signature]) => {
      const secret = `eyJ${header}.eyJ${payload}.${signature}`
      return sample('bearer', `${before}${secret}${after}`, secret)
    }),
  'env-secret': fc
    .tuple(fc.constantFrom(...SECRET_NAMES), fc.constantFrom('unquoted', 'export', 'double', 'single'), chars(VALUE, 7, 39), chars(ALNUM, 1), chars(`${ALNUM} `, 8, 40))
    .map(([name, form, value, last, spaced]) => {
      // An unquoted value ends with a letter or digit: a final `.` or `:` would end the sentence, not the value.
      const secret = form === 'unquoted' || form === 'export' ? value + last : spaced.trim().padEnd(8, 'x')
      const text = {double: `${name} = "${secret}"`, export: `export ${name}=${secret}`, single: `${name}='${secret}'`, unquoted: `${name}=${secret}`}[form]
      return sample('env-secret', text, secret)
    }),
  github: bare(
    'github',
    fc.oneof(
      fc.tuple(fc.constantFrom('ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'), chars(ALNUM, 36)).map(([prefix, body]) => prefix + body),
      fc.tuple(chars(ALNUM, 22), chars(ALNUM, 59)).map(([id, body]) => `github_pat_${id}_${body}`),
    ),
  ),
  'google-api-key': bare('google-api-key', chars(BASE64URL, 35).map((body) => `AIza${body}`)),
  openai: bare(
    'openai',
    fc.oneof(
      mixed(BASE64URL, 48, 156).map((body) => `sk-proj-${body}`),
      fc.tuple(mixed(ALNUM, 20, 20), chars(ALNUM, 20)).map(([a, b]) => `sk-${a}T3BlbkFJ${b}`),
    ),
  ),
  'private-key': fc
    .tuple(fc.constantFrom(...PEM_LABELS), fc.array(chars(BASE64, 64), {maxLength: 6, minLength: 1}), chars(BASE64, 4, 60), fc.boolean())
    .map(([label, lines, last, encrypted]) => {
      const secret = [...lines, `${last}==`].join('\n')
      const headers = encrypted ? 'Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,2A3B4C5D6E7F8091\n\n' : ''
      const text = `-----BEGIN ${label}PRIVATE KEY-----\n${headers}${secret}\n-----END ${label}PRIVATE KEY-----`
      return {...sample('private-key', text, text), secret}
    }),
  slack: bare(
    'slack',
    fc.tuple(fc.constantFrom('xoxa', 'xoxb', 'xoxp', 'xoxr'), chars(DIGITS, 10, 13), chars(DIGITS, 10, 13), chars(ALNUM, 24)).map(([prefix, team, user, body]) => `${prefix}-${team}-${user}-${body}`),
  ),
  stripe: bare('stripe', fc.tuple(fc.constantFrom('sk_live_', 'rk_live_'), chars(ALNUM, 24, 99)).map(([prefix, body]) => prefix + body)),
}

/**
 * What to look for to find `sample`'s secret in stored bytes: its lines (a private key's body
 * spans several, which a JSON string holds joined by `\n` escapes, not newlines).
 */
export function secretLines(sample: SecretSample): string[] {
  return sample.secret.split('\n')
}

/**
 * The rules of those `samples` whose secret has any line in any file under `home`: the database,
 * its WAL, blobs, settings, every byte the store holds.
 */
export function secretsIn(home: string, samples: readonly SecretSample[]): string[] {
  const files = readdirSync(home, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name)))
  return samples.filter((sample) => secretLines(sample).some((line) => files.some((bytes) => bytes.includes(line)))).map((sample) => sample.rule)
}

/** A credential of any rule. */
export const secretSample: fc.Arbitrary<SecretSample> = fc.oneof(...Object.values(SECRET_ARBITRARIES))

/** One generated credential of each rule, the same on every run. */
export function oneOfEachRule(seed = 42): SecretSample[] {
  return Object.values(SECRET_ARBITRARIES).map((arbitrary) => fc.sample(arbitrary, {numRuns: 1, seed})[0]!)
}

/**
 * Units of text that each rule starts to match and gives up on. Only the run of `password=` holds
 * an assignment of a secret: one, whose value is the rest of the run.
 */
export const NEAR_MATCHES: readonly string[] = [
  'sk-',
  `sk-${'a'.repeat(19)} `,
  `sk-${'aB'.repeat(40)} `,
  'AKIA',
  `ASIA${'A'.repeat(15)} `,
  `AIza${'b'.repeat(34)} `,
  `ghp_${'a'.repeat(35)} `,
  'xoxb-',
  '_live_',
  `-----BEGIN RSA PRIVATE KEY-----\n${'A'.repeat(64)}\n`,
  `API_KEY="${'a'.repeat(1023)}\n`,
  'password=password=',
  'A_B_C_D_E_F_G_H_KEY_',
  'Authorization: Bearer \n',
  `aws_secret_access_key: ${'A'.repeat(39)} `,
  '\\n\\n\\n',
]

/** At least `chars` characters of {@link NEAR_MATCHES}, each unit repeated in a block of its own, the blocks joined by newlines. */
export function nearMatches(chars: number): string {
  const block = Math.ceil(chars / NEAR_MATCHES.length)
  return NEAR_MATCHES.map((unit) => unit.repeat(Math.ceil(block / unit.length))).join('\n')
}

/**
 * Text that looks like a credential of each rule and is not one: slugs, keys too short or too long,
 * test-mode keys, references and placeholders, public keys and certificates, names that merely
 * contain a suffix. None ends with a secret's name or an `=`, so that whatever follows it cannot
 * turn it into an assignment of a secret.
 */
export const LOOK_ALIKES: Readonly<Record<string, readonly string[]>> = {
  anthropic: ['sk-ant-api03-short', 'sk-ant-'],
  'aws-access-key-id': ['AKIAiosfodnn7example', 'AKIAIOSFODNN7EXAMPL', 'AKIAIOSFODNN7EXAMPLE1', 'ASIAN-FOOD-MENU'],
  'aws-secret-access-key': ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1', 'aws_secret_access_key = <your secret>'],
  bearer: [
    'Authorization: Bearer <your-api-key>',
    'Authorization: Bearer ${API_KEY}',
    'Authorization: Bearer $OPENAI_API_KEY.',
    'Authorization: Bearer abc',
    'Authorization: Basic dXNlcjpwYXNzd29yZA==',
    'Bearer eyJhbGciOiJIUzI1NiJ9 is how a bearer is sent',
  ],
  'env-secret': [
    'MAX_TOKENS=4096',
    'PASSWORD_MIN_LENGTH=8',
    'MONKEY=banana',
    'KEY=value',
    'PWD=/home/me/app',
    'API_KEY=$API_KEY.',
    'API_KEY=${API_KEY}',
    'api_key = os.environ["API_KEY"]',
    'api_key = getenv("API_KEY")',
    'TOKEN_URL=https://example.com/oauth',
    'secret_santa=alice',
    'token: 12345',
  ],
  github: ['ghp_abc123', 'github_pat_short', 'ghx_' + 'a1B2'.repeat(9)],
  'google-api-key': ['AIzaSyShort', 'AIza' + 'b'.repeat(40)],
  openai: ['sk-learn-compatible-estimators', 'sk-Ab3dEf6hIj', 'task-Ab3dEf6hIj9kLm2nOp5qRs8tUv1', 'disk-usage-report-2024-final-version'],
  'private-key': [
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----',
    '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----',
    '-----BEGIN RSA PRIVATE KEY----- (truncated)',
  ],
  slack: ['xoxb-your-workspace-bot', 'xoxo-hugs-and-kisses', 'xoxb-12'],
  stripe: ['sk_test_4eC39HqLyjWDarjtT1zdp7dc', 'rk_test_4eC39HqLyjWDarjtT1zdp7dc', 'sk_live_short'],
}

/** Words that begin every rule's pattern (or a part of one), in any case: text without them holds no secret a rule finds. */
const RULE_LITERALS = /sk-|aiza|akia|asia|gh[pousr]_|github_pat_|xox[abpr]-|k_live_|-----begin|aws_secret|authorization|secret|token|passw|passphrase|apikey|_key/i

/** Text of any characters that holds none of the literals a rule starts from. */
export const plainText: fc.Arbitrary<string> = fc.oneof(fc.string({unit: 'binary'}), fc.string({unit: 'grapheme-ascii'}), chars(`${VALUE} "'=\n`, 0, 60)).filter((text) => !RULE_LITERALS.test(text))

/** What separates the pieces of a generated document: spaces, punctuation, newlines, a JSON `\n` escape. */
export const separator: fc.Arbitrary<string> = fc.constantFrom(' ', '\n', ', ', '. ', '\t', ' | ', '\r\n', ': ', String.raw`\n`)
