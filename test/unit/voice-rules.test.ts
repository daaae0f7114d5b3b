/**
 * The rules of asking and rating that need no federation: what free text is refused, what a
 * question asks about and which guide sections answer it, and the lifecycle tables' refusals.
 */
import test from 'ava';
import { HttpError } from '../../infra/errors.ts';
import { freeText } from '../../services/voice/free-text.ts';
import { guideOffers, questionLexemes, sectionText } from '../../services/questions/answer-finder.ts';
import { ratingLifecycle } from '../../services/ratings/rating-lifecycle.ts';
import { taskLifecycle } from '../../services/ratings/rectification-lifecycle.ts';
import { questionLifecycle } from '../../services/questions/question-lifecycle.ts';
import type { Guide } from '../../services/catalog/guide.ts';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof HttpError
      ? { status: err.status, code: err.code, message: err.message }
      : { status: 0, code: String(err), message: '' };
  }
  return null;
};

test('free text: trimmed, blank is none, too long, markup and control characters refused with the field named', (t) => {
  t.is(freeText('comment', '  很好  ', 10), '很好');
  t.is(freeText('comment', '   ', 10), null);
  t.is(freeText('comment', undefined, 10), null);
  t.is(freeText('comment', '第一行\n第二行\t完', 20), '第一行\n第二行\t完');
  t.is(freeText('comment', '3<4, <3 谢谢', 20), '3<4, <3 谢谢', 'a < before no letter is text');
  t.like(
    refusal(() => freeText('comment', '很'.repeat(11), 10)),
    { status: 400, code: 'text_too_long', message: 'comment: at most 10 characters (this one has 11)' },
  );
  for (const markup of ['<script>x</script>', '< img src=x>', '<!-- x -->', 'JavaScript:alert(1)', 'x onerror=alert(1)', '</p>'])
    t.like(
      refusal(() => freeText('comment', markup, 100)),
      { code: 'markup_not_allowed' },
      markup,
    );
  t.like(
    refusal(() => freeText('comment', 'a\u0000b', 100)),
    { code: 'invalid_request' },
  );
  t.like(
    refusal(() => freeText('text', '  ', 100, true)),
    { code: 'invalid_request', message: 'text: required' },
  );
  t.like(
    refusal(() => freeText('text', 42, 100)),
    { code: 'invalid_request', message: 'text: text expected' },
  );
});

test('a question asks about what is left once its question words are out', (t) => {
  t.deepEqual(questionLexemes('请问办理出生登记需要带什么材料？'), ['理出', '出生', '生登', '登记', '带', '材料']);
  t.deepEqual(questionLexemes('办理地点在哪里'), ['理地', '地点']);
  t.deepEqual(questionLexemes('吗？'), []);
});

const guide: Guide = {
  code: 'X',
  version: 1,
  title: '出生登记办事指南',
  sections: [
    { key: 'name', label: { 'zh-CN': '事项名称', en: 'Item' }, value: '出生登记' },
    {
      key: 'materials',
      label: { 'zh-CN': '申请材料', en: 'Materials' },
      value: [{ name: '出生医学证明', type: '原件' }, { name: '居民户口簿' }],
    },
    { key: 'place', label: { 'zh-CN': '办理地点', en: 'Place' }, value: '广州市公安局政务服务窗口' },
    { key: 'fees', label: { 'zh-CN': '收费标准', en: 'Fees' }, value: '不收费' },
  ],
};

test('guide sections are offered when their title names what is asked about, or they cover the question', (t) => {
  t.is(sectionText(guide.sections[1]!.value), '出生医学证明，原件；居民户口簿');
  t.deepEqual(
    guideOffers(guide, questionLexemes('出生登记要带什么材料')).map((o) => o.key),
    ['materials', 'name'],
  );
  t.deepEqual(
    guideOffers(guide, questionLexemes('办理地点在哪里')).map((o) => o.key),
    ['place'],
  );
  t.deepEqual(guideOffers(guide, questionLexemes('孩子在外省出生能在广州办吗')), []);
});

test('the lifecycle tables refuse what they do not allow, naming the state and what it allows, or the guard', (t) => {
  const facts = { bad: true, complaint: false, appealUntil: '2026-12-10', today: '2026-12-04' };
  t.is(ratingLifecycle.next('recorded', 'flag', facts), 'rectifying');
  t.like(
    refusal(() => ratingLifecycle.next('recorded', 'flag', { ...facts, bad: false })),
    { status: 409, code: 'not_a_bad_rating' },
  );
  t.like(
    refusal(() => ratingLifecycle.next('rectifying', 'appeal', { ...facts, today: '2026-12-11' })),
    { code: 'appeal_window_closed' },
  );
  t.like(
    refusal(() => ratingLifecycle.next('annulled', 'appeal', facts)),
    {
      code: 'transition_not_allowed',
      message: 'a rating that is annulled cannot take appeal; it takes no further step',
    },
  );
  t.like(
    refusal(() => taskLifecycle.next('open', 'resolve', { callBackNeeded: true, calledBack: false })),
    { code: 'call_back_required' },
  );
  t.is(taskLifecycle.next('open', 'resolve', { callBackNeeded: false, calledBack: false }), 'resolved');
  t.is(taskLifecycle.next('open', 'call_back', { callBackNeeded: true, calledBack: false }), 'open');
  t.deepEqual(taskLifecycle.eventsFrom('on_appeal'), ['release', 'withdraw']);
  t.like(
    refusal(() => questionLifecycle.next('queued', 'publish', {})),
    {
      message: 'a question that is queued cannot take publish; it can take: answer',
    },
  );
});
