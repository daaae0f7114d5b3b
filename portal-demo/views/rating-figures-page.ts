/**
 * The public figures of 好差评 on the portal (no sign-in): per authority, and per item of it in a
 * disclosure, the ratings by level, the bad-rating rate and how rectification went.
 */
import { html } from '../../infra/html.ts';
import { layout } from './pages.ts';
import type { VoicePageContext } from './voice-forms.ts';

export interface Figures {
  ratings: number;
  by_level: Record<string, number>;
  bad: number;
  annulled: number;
  bad_rate: number | null;
  rectification: {
    tasks: number;
    on_time: number;
    overdue: number;
    on_time_rate: number | null;
    rater_satisfied: number;
    rater_views: number;
  };
}

export interface FiguresView {
  as_of: string;
  overall: Figures;
  authorities: { code: string; name: string; figures: Figures; items: { code: string; name: string; figures: Figures }[] }[];
}

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(1)}%`);

function row(p: VoicePageContext, name: string, f: Figures) {
  return html`<dl class="record">
    <dt>${p.v('figures.ratings')}</dt>
    <dd>${f.ratings}（${['5', '4', '3', '2', '1'].map((l) => `${p.v(`level.${l as '5'}`)} ${f.by_level[l] ?? 0}`).join('，')}）</dd>
    <dt>${p.v('figures.bad_rate')}</dt>
    <dd>${percent(f.bad_rate)}（${p.v('figures.bad', { bad: f.bad, annulled: f.annulled })}）</dd>
    <dt>${p.v('figures.on_time')}</dt>
    <dd>${percent(f.rectification.on_time_rate)}（${p.v('figures.tasks', { tasks: f.rectification.tasks, overdue: f.rectification.overdue })}）</dd>
    <dt>${p.v('figures.satisfied')}</dt>
    <dd>${f.rectification.rater_satisfied} / ${f.rectification.rater_views}</dd>
  </dl>
  <span class="hint">${name}</span>`;
}

export function ratingFiguresPage(p: VoicePageContext, v: FiguresView): string {
  return layout(
    p,
    p.v('page.figures'),
    html`<p class="hint">${p.v('figures.as_of', { day: v.as_of })}</p>
      ${row(p, p.v('figures.overall'), v.overall)}
      ${v.authorities.map(
        (a) =>
          html`<h2>${a.name}</h2>
            ${row(p, a.code, a.figures)}
            <details>
              <summary>${p.v('figures.by_item')}</summary>
              ${a.items.map((i) => html`<h3>${i.name}</h3>${row(p, i.code, i.figures)}`)}
            </details>`,
      )}`,
  );
}
