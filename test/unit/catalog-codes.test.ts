/** Item codes (each problem names its element) and the search tokens of Chinese text. */
import test from 'ava';
import { usccCheckCharacter } from '../../infra/identifiers.ts';
import { basicCodeProblem, handlingCodeProblem, implementingCodeProblem, mainItemOf } from '../../services/catalog/item-codes.ts';
import { allOf, documentTokens, parseQuery, twoOf } from '../../services/catalog/search-tokens.ts';

const authority = (() => {
  const body = '11440100000101002';
  return body + usccCheckCharacter(body);
})();

test('basic codes: structure, item type and main item sequence are checked by element', (t) => {
  t.is(basicCodeProblem('200101001000'), null);
  t.regex(basicCodeProblem('20010100100')!, /12 digits/);
  t.regex(basicCodeProblem('990101001000')!, /item type code \(digits 1-2\) "99"/);
  t.regex(basicCodeProblem('200101000000')!, /main item sequence \(digits 7-9\)/);
  t.is(mainItemOf('200101001000'), null);
  t.is(mainItemOf('200101001002'), '200101001000');
});

test('implementing and handling codes: authority, tier, basic code and sequence', (t) => {
  const code = `${authority}3200101001000`;
  t.is(implementingCodeProblem(code), null);
  t.regex(implementingCodeProblem(`${authority}4200101001000`)!, /tier \(character 19\) "4"/);
  t.regex(implementingCodeProblem(`${authority.slice(0, 17)}0${'3200101001000'}`)!, /characters 1-18 .* check character/);
  t.regex(implementingCodeProblem(`${authority}3990101001000`)!, /characters 20-31 are the basic code: item type code/);
  t.is(handlingCodeProblem(`${code}01`), null);
  t.regex(handlingCodeProblem(`${code}00`)!, /handling sequence \(characters 32-33\)/);
  t.regex(handlingCodeProblem(`${code}1`)!, /33 characters/);
});

test('Chinese text gives unigrams and bigrams, Latin and digits lowercase words; queries quote their lexemes', (t) => {
  t.is(documentTokens('居民身份证 ID2号'), '居 民 身 份 证 居民 民身 身份 份证 id2 号');
  t.deepEqual(parseQuery('身份证').lexemes, ['身份', '份证']);
  t.deepEqual(parseQuery('证').lexemes, ['证']);
  t.deepEqual(parseQuery("O'Brien & 户口:*").lexemes, ['o', 'brien', '户口']);
  t.is(allOf(['户口', "it's"], 'AB'), "'户口':AB & 'it''s':AB");
  t.is(twoOf(['a', 'b', 'c']), "('a' & 'b') | ('a' & 'c') | ('b' & 'c')");
  t.throws(() => parseQuery(''), { message: /q: type what you are looking for/ });
  t.throws(() => parseQuery('x'.repeat(101)), { message: /at most 100/ });
  t.throws(() => parseQuery('a\u001fb'), { message: /control characters/ });
  t.throws(() => parseQuery("'&|!()"), { message: /no letters, digits or Chinese characters/ });
});
