/** Case numbers (their check character catches a mistyped number) and how an item is handled, from its catalog elements. */
import test from 'ava';
import { checkCharacter, formatCaseNumber, parseCaseNumber } from '../../services/cases/case-numbers.ts';
import { handlingRules, serviceCategories } from '../../services/cases/handling-rules.ts';
import type { ImplementationItem } from '../../services/catalog/catalog-schema.ts';

test('a case number names the platform, the day and the sequence, with a check character', (t) => {
  const number = formatCaseNumber('gz', '2026-12-04', 42);
  t.regex(number, /^GZ-20261204-000042-[0-9A-Z]$/);
  t.is(parseCaseNumber(` ${number.toLowerCase()} `), number);
  t.is(formatCaseNumber('gz', '2026-12-04', 1_234_567).split('-')[2], '1234567', 'a busy day widens the sequence');
});

test('every single-character change and every swap of neighbours is caught by the check character', (t) => {
  const body = 'GZ20261204000042';
  const check = checkCharacter(body);
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  for (let i = 0; i < body.length; i++) {
    for (const c of alphabet) if (c !== body[i]) t.not(checkCharacter(body.slice(0, i) + c + body.slice(i + 1)), check, `${i} → ${c}`);
    if (i + 1 < body.length && body[i] !== body[i + 1])
      t.not(checkCharacter(body.slice(0, i) + body[i + 1] + body[i] + body.slice(i + 2)), check, `swap ${i}`);
  }
});

test('a malformed number or a wrong check character is a 400 invalid_case_number', (t) => {
  const number = formatCaseNumber('zj', '2026-10-08', 7);
  const wrong = number.slice(0, -1) + (number.endsWith('0') ? '1' : '0');
  t.throws(() => parseCaseNumber(wrong), { message: /check character does not match/ });
  t.throws(() => parseCaseNumber('ZJ-2026-7'), { message: /looks like GZ-20261204-000042-J/ });
  t.throws(() => parseCaseNumber(42), { message: /looks like/ });
});

const item = (over: Partial<ImplementationItem>): ImplementationItem =>
  ({
    level: 'main',
    legal_time_limit_days: 20,
    promised_time_limit_days: 10,
    assisting_authorities: [],
    process: [{ step: '审查', description: '书面审查' }],
    ...over,
  }) as ImplementationItem;

test('review methods come from the process steps that name one; on the spot from a promise of 0 days', (t) => {
  const rules = handlingRules(
    item({
      process: [
        { step: '现场核查', description: '' },
        { step: '专家评审', description: '' },
        { step: '听证', description: '' },
      ],
    }),
    { item_type: '行政许可' },
  );
  t.deepEqual(rules.reviewMethods, ['written', 'on_site', 'expert_review', 'hearing']);
  t.true(rules.publishesApprovals);
  t.false(rules.onTheSpot);
  t.true(handlingRules(item({ promised_time_limit_days: 0 }), { item_type: '公共服务' }).onTheSpot);
  t.false(handlingRules(item({}), { item_type: '公共服务' }).publishesApprovals);
});

test('parallel approval: every assisting authority is asked; joint handling has 45 days when the item names none', (t) => {
  const rules = handlingRules(item({ assisting_authorities: ['a', 'b', 'c'], legal_time_limit_days: 0 }), { item_type: '行政许可' });
  t.is(rules.opinionQuorum, 3);
  t.like(rules.limits, { joint: true, legalDays: 45, extensionDays: 15 });
});

test("an item's service categories: its department's, and permits for a licence", (t) => {
  t.deepEqual(serviceCategories({ item_type: '行政许可' }, '0104'), ['business', 'permits']);
  t.deepEqual(serviceCategories({ item_type: '公共服务' }, '0114'), ['housing_fund']);
  t.deepEqual(serviceCategories({ item_type: '公共服务' }, '0102'), []);
});
