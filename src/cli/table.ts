import {chalk} from './style.ts'

/**
 * Renders rows as a borderless, left-aligned table with a dim header (the look of `docker ps`
 * and `git branch -v`): columns two spaces apart, each as wide as its widest cell, the last one
 * not padded. Widths are terminal cells (`Bun.stringWidth`: wide characters count two, ANSI
 * colours none), so coloured and East Asian text line up. Linear in the number of cells: a table
 * of 100,000 rows (`sess list --limit 0`, a gc plan) renders in well under a second.
 *
 * @example
 * ```ts
 * renderTable(['NAME', 'STATUS'], [['fix-auth', 'active'], ['chat-1', 'completed']])
 * // NAME      STATUS
 * // fix-auth  active
 * // chat-1    completed
 * ```
 */
export function renderTable(head: string[], rows: string[][]): string {
  const cells = [head, ...rows]
  const widths = head.map((_, column) => cells.reduce((widest, row) => Math.max(widest, Bun.stringWidth(row[column] ?? '')), 0))
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - Bun.stringWidth(cell))))
      .join('  ')
      .trimEnd()
  return [chalk.dim(line(head)), ...rows.map(line)].join('\n')
}
