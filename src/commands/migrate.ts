import {Flags} from '@oclif/core'
import {SessCommand} from '../cli/base-command.ts'
import {chalk} from '../cli/style.ts'

/** `sess migrate --json` output. */
export interface MigrateResult {
  applied: string[]
  migrations: {name: string; appliedAt: string | null}[]
}

export default class Migrate extends SessCommand<typeof Migrate> {
  static override summary = "Show or apply the store database's schema migrations."
  static override description = 'Every command migrates on first use; this shows what ran (--status) or applies pending migrations explicitly.'

  static override examples = ['<%= config.bin %> <%= command.id %> --status', '<%= config.bin %> <%= command.id %>']

  static override flags = {
    status: Flags.boolean({description: 'Only show which migrations are applied.'}),
  }

  async run(): Promise<MigrateResult> {
    const store = await this.store({autoMigrate: false})
    const applied = this.flags.status ? [] : await store.migrate()
    const migrations = (await store.migrationStatus()).map((m) => ({appliedAt: m.appliedAt?.toISOString() ?? null, name: m.name}))
    if (!this.jsonEnabled()) {
      for (const m of migrations) this.log(`${m.appliedAt ? chalk.green('applied') : chalk.yellow('pending')}  ${m.name}${m.appliedAt ? chalk.dim(`  ${m.appliedAt}`) : ''}`)
      if (!this.flags.status) this.log(applied.length > 0 ? `Applied ${applied.length} migration(s).` : 'The schema is up to date.')
    }
    return {applied, migrations}
  }
}
