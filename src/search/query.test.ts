import {describe, expect, it} from 'vitest'
import {InvalidInputError} from '../errors/index.ts'
import {foldedWords, parseQuery} from './query.ts'

describe('parseQuery', () => {
  it('splits words and "quoted phrases"; punctuation separates words and is never an operator', () => {
    expect(parseQuery('"login bug" auth').terms).toEqual([
      {quoted: true, words: ['login', 'bug']},
      {quoted: false, words: ['auth']},
    ])
    expect(parseQuery('read_file -x* NEAR(a OR b) col:val "unclosed phrase').terms).toEqual([
      {quoted: false, words: ['read', 'file']},
      {quoted: false, words: ['x']},
      {quoted: false, words: ['NEAR', 'a']},
      {quoted: false, words: ['OR']},
      {quoted: false, words: ['b']},
      {quoted: false, words: ['col', 'val']},
      {quoted: true, words: ['unclosed', 'phrase']},
    ])
    expect(parseQuery('fix "the login" page').phrase).toEqual(['fix', 'the', 'login', 'page'])
  })

  it('refuses a query without a word', () => {
    for (const query of ['', '   ', '-', '"" * ()', '\0']) expect(() => parseQuery(query)).toThrow(InvalidInputError)
  })

  it('folds case and diacritics as the index does', () => {
    expect(foldedWords(parseQuery('Café NAÏVE'))).toEqual(new Set(['cafe', 'naive']))
  })
})
