import {Args, Flags} from '@oclif/core'
import {SessCommand} from '../cli/base-command.ts'
import {chalk} from '../cli/style.ts'
import {parseTimeFlag} from '../cli/units.ts'
import {DEFAULT_SEARCH_LIMIT, type SearchHit} from '../search/search.ts'

export default class Search extends SessCommand<typeof Search> {
  static override summary = 'Search the transcripts of every session: messages, tool names, tool arguments and results.'
  static override description = `Every word must match, in any order, anywhere in a record; case and diacritics do not matter (CAFÉ finds cafe). "Quoted words" must match as a phrase. Words are runs of letters and digits: anything else separates them, so read_file or src/auth.py match as phrases of their words. No character is an operator (- * : ^ ( ) AND OR NOT NEAR are searched for as written, or ignored when not letters or digits); put -- before a query that starts with -.

Records holding the whole query as one phrase come first, then the most relevant (bm25). Each hit shows the session, the record's number (see it with sess show NAME --from SEQ) and the matching text, highlighted on a terminal. Sessions in the trash are left out unless --trash.

Exit status: 0 whether or not anything matched (with --json, no match prints []); 2 for a query without a word or a bad flag; 4 for an unknown --session; 1 when the search index is missing or damaged (sess doctor --fix rebuilds it).

--json prints an array of hits: {rank, sessionId, name, kind, seq, type, role, tool, ts, snippet, highlights, score, exact}. highlights are [start, end) offsets of the matched words in snippet (UTF-16 code units); score is bm25 (higher is better) and exact whether the record holds the whole query as a phrase.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> login bug',
    '<%= config.bin %> <%= command.id %> \'"connection refused"\' --kind agent --since 7d',
    '<%= config.bin %> <%= command.id %> read_file --session fix-login --limit 0 --json',
  ]

  static override strict = false

  static override args = {
    query: Args.string({description: 'Words to find (all of them); "quoted phrases" as phrases.', required: true}),
  }

  static override flags = {
    kind: Flags.string({description: 'Only sessions of this kind (repeatable).', multiple: true}),
    limit: Flags.integer({default: DEFAULT_SEARCH_LIMIT, description: 'At most this many hits; 0 for all.', min: 0}),
    session: Flags.string({description: 'Only this session (id or name).'}),
    since: Flags.string({description: 'Only sessions active at or after: a duration back (7d, 12h) or a date.'}),
    trash: Flags.boolean({description: 'Search sessions in the trash too.'}),
  }

  async run(): Promise<SearchHit[]> {
    const {flags} = this
    const store = await this.store()
    const hits = await store.search(this.positionals.join(' '), {
      includeTrashed: flags.trash,
      kind: flags.kind,
      limit: flags.limit,
      session: flags.session,
      since: flags.since === undefined ? undefined : parseTimeFlag('since', flags.since),
    })
    if (!this.jsonEnabled()) {
      if (hits.length === 0) this.logToStderr('No matches.')
      for (const hit of hits) this.log(`${chalk.bold(hit.name)}  ${chalk.dim(hit.kind)}  ${chalk.green(`#${hit.seq}`)}  ${chalk.cyan(what(hit))}\n    ${highlight(hit)}`)
      if (flags.limit > 0 && hits.length === flags.limit) this.logToStderr(chalk.dim(`The first ${hits.length} ${hits.length === 1 ? 'hit' : 'hits'}; --limit N shows more, --limit 0 all.`))
    }
    return hits
  }
}

/** What the record is: a message's role, a tool call's tool, or the record's type. */
function what(hit: SearchHit): string {
  if (hit.role !== null) return hit.role
  if (hit.tool !== null) return `tool ${hit.tool}`
  return hit.type.replace('_', ' ')
}

/** The snippet with its matched words in bold red (as grep marks matches); plain without colours. */
function highlight(hit: SearchHit): string {
  let out = ''
  let at = 0
  for (const [start, end] of hit.highlights) {
    out += hit.snippet.slice(at, start) + chalk.bold.red(hit.snippet.slice(start, end))
    at = end
  }
  return out + hit.snippet.slice(at)
}
