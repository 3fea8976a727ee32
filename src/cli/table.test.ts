import {describe, expect, it} from 'vitest'
import {renderTable} from './table.ts'

const plain = (text: string) => Bun.stripANSI(text)

describe('renderTable', () => {
  it('pads every column but the last to its widest cell, two spaces apart', () => {
    const table = plain(renderTable(['NAME', 'STATUS', 'TAGS'], [['fix-auth', 'active', 'a,b'], ['x', 'completed', '']]))
    expect(table.split('\n')).toEqual(['NAME      STATUS     TAGS', 'fix-auth  active     a,b', 'x         completed'])
  })

  it('counts terminal cells: wide characters two, colours none', () => {
    const table = plain(renderTable(['A', 'B'], [['日本', '1'], ['\x1b[31mab\x1b[39m', '2']]))
    expect(table.split('\n')).toEqual(['A     B', '日本  1', 'ab    2'])
  })

  it('renders only the header when there are no rows', () => {
    expect(plain(renderTable(['NAME', 'KIND'], []))).toBe('NAME  KIND')
  })
})
