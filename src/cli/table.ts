import Table from 'cli-table3'
import {chalk} from './style.ts'

/**
 * Renders rows as a borderless, left-aligned table with a dim header (the look of `docker ps`
 * and `git branch -v`), through cli-table3.
 */
export function renderTable(head: string[], rows: string[][]): string {
  const table = new Table({
    chars: {
      bottom: '', 'bottom-left': '', 'bottom-mid': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      middle: '  ', right: '', 'right-mid': '', top: '', 'top-left': '', 'top-mid': '', 'top-right': '',
    },
    head: head.map((h) => chalk.dim(h)),
    style: {border: [], compact: true, head: [], 'padding-left': 0, 'padding-right': 0},
  })
  table.push(...rows)
  return table.toString()
}
