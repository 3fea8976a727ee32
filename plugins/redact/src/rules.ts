/**
 * The credentials the redact plugin masks, one named rule each (with the source of its format).
 * Every rule's pattern captures exactly the secret (what comes before it in the match, such as
 * `API_KEY=`, is kept), and is linear by construction (see {@link RedactRule.pattern}).
 *
 * The patterns run over the bytes read as Latin-1 (one character per byte), so that they see
 * text, JSON and JSONL alike: classes are ASCII, and a JSON string's escapes are either stepped
 * over whole (`\n`, `\"`) or end the match, so the replacement never splits one.
 */

/** A kind of credential: its name in `[REDACTED:<name>]` and in the counts, and how to find it. */
export interface RedactRule {
  /** Name in the replacement `[REDACTED:<name>]` and in the counts. */
  readonly name: string
  /**
   * Source of a regular expression (no flags) with exactly one capturing group, which ends the
   * match: the secret. What the match holds before it (`API_KEY=`, `Authorization: Bearer `) is
   * context and is kept. Every pattern starts with a literal (so that the engine can look for it
   * in one combined pass) and is linear by construction: what must precede a token is checked
   * by a lookbehind right after that literal (so a run of token characters is scanned from its
   * first character only, never from each of them), and every quantifier is bounded or takes one
   * run of a character class that ends the pattern or is followed by a single character, so an
   * attempt gives back at most what it took, once.
   */
  readonly pattern: string
  /** A further check of the secret, where the pattern alone would take look-alikes (slugs, placeholders). */
  readonly accept?: (secret: string) => boolean
}

/** The characters of a token (API keys and their prefixes). */
const TOKEN_CHAR = 'A-Za-z0-9_-'

/**
 * What must precede a token: anything but a token character, unless that character ends a `\n`,
 * `\r` or `\t` escape of a JSON or C string (`"…\nsk-…"`). A secret glued to a word is not recognised.
 */
const TOKEN_START = String.raw`(?:(?<![${TOKEN_CHAR}])|(?<=\\[nrt]))`

/** What must precede the name of an assignment: as {@link TOKEN_START}, for words (`-` may precede: `--password=`). */
const NAME_START = String.raw`(?:(?<![A-Za-z0-9_])|(?<=\\[nrt]))`

/** Where a fixed-length token must end: no token character follows. */
const TOKEN_END = `(?![${TOKEN_CHAR}])`

/** An optional quote around a key or value, possibly escaped inside a JSON string (`\"`). */
const QUOTE = String.raw`\\?["']?`

/**
 * A token: `prefix` (a pattern without capturing groups) then `body`, the whole of it the secret.
 * The prefix comes first, so that the engine can look for it, then the check of what precedes it.
 */
function token(prefix: string, body: string): string {
  return `(${prefix}(?<=${TOKEN_START}${prefix})${body})`
}

/** `word` in any letter case, as a pattern (`key` → `[Kk][Ee][Yy]`). */
function caseless(word: string): string {
  return [...word].map((char) => (/[a-z]/i.test(char) ? `[${char.toUpperCase()}${char.toLowerCase()}]` : char)).join('')
}

/** Whether `text` has a digit, an upper-case and a lower-case letter, as a random key has (and a word or a slug has not). */
function looksRandom(text: string): boolean {
  return /[0-9]/.test(text) && /[A-Z]/.test(text) && /[a-z]/.test(text)
}

/** Endings of a secret's name: `*_SECRET`, `*_TOKEN`, `*_PASSWORD`…, each also alone (`PASSWORD`). */
const SECRET_SUFFIXES = ['secret', 'token', 'password', 'passwd', 'passphrase', 'apikey'].map(caseless)

/**
 * The name of an assignment whose value is a secret, in any case: `*_KEY`, and `*_SECRET`,
 * `*_TOKEN`, `*_PASSWORD`, `*_PASSWD`, `*_PASSPHRASE`, `*_APIKEY`, each also alone. The suffix
 * must end the name (`MAX_TOKENS`, `PASSWORD_MIN_LENGTH` are not secrets), and `KEY` alone,
 * `MONKEY` or `PWD` (the working directory) are not either.
 */
const SECRET_NAME = String.raw`${NAME_START}(?:(?:[A-Za-z0-9_]{0,64}_)?(?:${SECRET_SUFFIXES.join('|')})|[A-Za-z0-9_]{0,64}_${caseless('key')})`

/**
 * The value of a secret assignment, after `=` and an optional quote: a quoted value up to its
 * closing quote (possibly JSON-escaped, `\"`), or, right after `=` with no space, an unquoted
 * value up to a space, quote, comma, bracket or shell operator, less a final `.` or `:` (the end
 * of a sentence). `$` is never part of one, so a reference (`$API_KEY`, `${API_KEY}`) is not a secret.
 */
const SECRET_VALUE = String.raw`(?<=")[^"\\\r\n]{1,1024}(?=\\?")|(?<=')[^'\\\r\n]{1,1024}(?=\\?')|(?<=[A-Za-z0-9_]=)[^\x00-\x20\x7f"'\\$\x60;&|<>(){}\[\],]*[^\x00-\x20\x7f"'\\$\x60;&|<>(){}\[\],.:]`

/**
 * The rules, in the order they are tried where two match at the same place (the more specific
 * first: `sk-ant-` before `sk-`). Where matches overlap, the one that starts first wins.
 */
export const RULES: readonly RedactRule[] = [
  {
    name: 'private-key',
    // RFC 7468 §2 (textual encoding: `-----BEGIN <label>-----`, base64 lines, `-----END <label>-----`),
    // RFC 1421 §4.6.1 (the `Proc-Type:` and `DEK-Info:` headers of encrypted keys), RFC 4880 §6.2
    // (`PGP PRIVATE KEY BLOCK`). The body takes whole `\n`, `\r`, `\t`, `\\` and `\/` escapes, and
    // stops at any `-----`, at a quote and at any other escape.
    pattern: String.raw`(-----BEGIN (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=:,. \t\r\n]|-(?!----)|\\[\\/nrt]){1,65536}-----END (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY(?: BLOCK)?-----)`,
  },
  {
    name: 'anthropic',
    // Anthropic API docs, "Authentication": keys start with `sk-ant-` (`sk-ant-api03-…`,
    // `sk-ant-admin01-…`); gitleaks rule `anthropic-api-key` (`sk-ant-api03-[\w-]{93}AA`).
    pattern: token('sk-ant-', `[${TOKEN_CHAR}]{32,}`),
  },
  {
    accept: (secret) => looksRandom(secret.slice('sk-'.length)),
    name: 'openai',
    // OpenAI API reference, "Authentication" (`sk-…`; project keys `sk-proj-…`); gitleaks rule
    // `openai-api-key`. A random key mixes digits and both cases, which `sk-learn-style-slugs` do not.
    pattern: token('sk-', `[${TOKEN_CHAR}]{20,}`),
  },
  {
    name: 'google-api-key',
    // Google Cloud docs, "Manage API keys": 39 characters starting with `AIza`; gitleaks rule
    // `gcp-api-key` (`AIza[\w-]{35}`).
    pattern: token('AIza', `[${TOKEN_CHAR}]{35}${TOKEN_END}`),
  },
  {
    name: 'aws-access-key-id',
    // AWS IAM User Guide, "IAM identifiers", unique ID prefixes: `AKIA` access key, `ASIA`
    // temporary (STS) access key; 20 upper-case letters and digits in all.
    pattern: token('(?:AKIA|ASIA)', `[A-Z0-9]{16}${TOKEN_END}`),
  },
  {
    name: 'aws-secret-access-key',
    // AWS CLI User Guide, "Configuration and credential file settings": `aws_secret_access_key =`
    // then the 40-character base64 secret; the same key in JSON or YAML.
    pattern: String.raw`${caseless('aws_secret_access_key')}${QUOTE}[ \t]{0,8}[=:][ \t]{0,8}${QUOTE}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
  },
  {
    name: 'github',
    // GitHub docs, "About authentication to GitHub", GitHub's token formats: `ghp_` personal,
    // `gho_` OAuth, `ghu_` user-to-server, `ghs_` server-to-server, `ghr_` refresh, each then 36
    // or more base62 characters; `github_pat_` fine-grained personal access tokens; 255 at most.
    pattern: token('(?:gh[pousr]_|github_pat_)', `(?:(?<=gh[pousr]_)[A-Za-z0-9]{36,251}|(?<=github_pat_)[A-Za-z0-9_]{22,244})${TOKEN_END}`),
  },
  {
    accept: (secret) => /[0-9]/.test(secret),
    name: 'slack',
    // Slack API docs, "Token types": bot `xoxb-`, user `xoxp-`, refresh `xoxr-`, legacy
    // workspace app `xoxa-`; they hold numeric ids, which a placeholder (`xoxb-your-token`) lacks.
    pattern: token('xox[abpr]-', '[A-Za-z0-9-]{10,}'),
  },
  {
    name: 'stripe',
    // Stripe docs, "API keys": secret keys `sk_live_…`, restricted keys `rk_live_…` (test-mode
    // `sk_test_` keys move no money and are left alone).
    pattern: token('[rs]k_live_', '[A-Za-z0-9]{16,}'),
  },
  {
    name: 'bearer',
    // RFC 6750 §2.1: `Authorization: Bearer <b64token>`, b64token = 1*( ALPHA / DIGIT / "-" / "." /
    // "_" / "~" / "+" / "/" ) *"="; also as a JSON key or a Python dict (`'Authorization': 'Bearer …'`).
    // A reference (`$TOKEN`) or a placeholder (`<token>`) starts with no b64token character; a
    // final `.` ends a sentence, not the token.
    pattern: String.raw`${caseless('authorization')}${QUOTE}[ \t]{0,8}[:=][ \t]{0,8}${QUOTE}${caseless('bearer')}[ \t]{1,8}([A-Za-z0-9._~+/-]{7,}[A-Za-z0-9_~+/-]=*)`,
  },
  {
    name: 'env-secret',
    // dotenv's syntax (github.com/motdotla/dotenv, README "Rules"): `KEY=value`, `KEY="value"`,
    // `KEY='value'`, also after `export `; and `--password=value` flags. Quoted values may have
    // spaces around `=`; unquoted ones must not, so that `api_key = os.environ["API_KEY"]` in code is
    // left alone. The name's suffix comes first (for the engine to look for), then the check of the whole name.
    pattern: String.raw`(?:${SECRET_SUFFIXES.join('|')}|_${caseless('key')})(?<=${SECRET_NAME})[ \t]{0,8}=[ \t]{0,8}(?:\\?["'])?(${SECRET_VALUE})`,
  },
]
