import chalk from 'chalk'

// https://no-color.org: a non-empty NO_COLOR turns colour off, whatever the terminal supports.
if (process.env.NO_COLOR) chalk.level = 0

/** chalk, with `NO_COLOR` respected. */
export {chalk}
