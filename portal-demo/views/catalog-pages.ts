/**
 * The catalog's pages of the portal (我要看, 我要查, 我要办): the search form and browse links of
 * the home page, result lists, the guide (办事指南) of an item and the narrowing questions, all
 * plain GET forms and links that work without scripts and fit a phone's screen.
 */
import { html, type Html } from '../../infra/html.ts';
import type { BrowseCounts, Guide, ItemSummary, Narrowing } from '../catalog-client.ts';
import type { Locale } from '../i18n.ts';
import { hidden, label, layout, type PageContext } from './pages.ts';

/** Page context of the catalog's pages: the language the person chose explicitly is kept in every link. */
export interface CatalogPageContext extends PageContext {
  lang?: Locale;
  /** The tier of the portal's platform. */
  tier: 'national' | 'province' | 'city';
  /** The portal's platform: items of another platform say which one handles them. */
  platform: string;
  /** A platform's (or a region's) display name by its code, when the federation has it. */
  platformName: (code: string) => string | undefined;
  /** The browse filter of the items this platform handles: a city's region, a province's or national's platform. */
  local: { facet: 'region' | 'platform'; value: string };
}

/** `path` with the explicit language, when there is one. */
export function withLang(path: string, lang: Locale | undefined): string {
  return lang ? `${path}${path.includes('?') ? '&' : '?'}lang=${lang}` : path;
}

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

export function searchForm(p: CatalogPageContext, q = ''): Html {
  return html`<form class="search" method="get" action="/search" role="search">
    <label for="q">${p.t('text.search_label')}</label>
    <div class="row">
      <input id="q" name="q" type="search" value="${q}" maxlength="100" autocomplete="off" />
      ${p.lang ? hidden('lang', p.lang) : ''}
      <button type="submit">${p.t('action.search')}</button>
    </div>
  </form>`;
}

/** How a facet value reads: a platform's or region's name, a label of the catalog's vocabulary, or the value itself (department and topic names). */
function facetValue(p: CatalogPageContext, facet: string, value: string): string {
  if (facet === 'platform' || facet === 'region') return p.platformName(value) ?? value;
  return label(p, facet, value) ?? value;
}

const LOCAL_ITEMS = { city: 'action.local_city', province: 'action.local_province', national: 'action.local_national' } as const;

/** Search form, the way to 我要办 and to this platform's own items, and links for browsing by life event, topic, user type, tier, platform and department. */
export function catalogHome(p: CatalogPageContext, counts: BrowseCounts | null): Html {
  const facets = ['life_event', 'topic', 'user_type', 'tier', 'platform', 'department'] as const;
  const browse = counts
    ? html`<nav class="browse" aria-label="${p.t('text.browse')}">
        <h2>${p.t('text.browse')}</h2>
        ${facets.map(
          (facet) =>
            html`<details ${facet === 'life_event' ? 'open' : ''}>
              <summary>${p.t(`facet.${facet}`)}</summary>
              <ul class="chips">
                ${Object.entries(counts[facet] ?? {}).map(
                  ([value, count]) =>
                    html`<li>
                      <a href="${withLang(`/browse?${query({ [facet]: value })}`, p.lang)}">${facetValue(p, facet, value)}</a>
                      <span class="hint">${count}</span>
                    </li>`,
                )}
              </ul>
            </details>`,
        )}
      </nav>`
    : '';
  const local = `/browse?${query({ [p.local.facet]: p.local.value })}`;
  return html`${searchForm(p)}
    <p><a class="narrow" href="${withLang('/narrow', p.lang)}">${p.t('action.narrow')}</a></p>
    <p><a class="local" href="${withLang(local, p.lang)}">${p.t(LOCAL_ITEMS[p.tier])}</a></p>
    ${browse}`;
}

/** Where an item is handled: its tier and department, and the platform by name when it is not this portal's. */
function handledBy(p: CatalogPageContext, item: ItemSummary): Html {
  const tier = item.facets.tier.map((t) => facetValue(p, 'tier', t)).join('、');
  const department = item.facets.department;
  // Versions published before platforms kept catalogs of their own name no platform: their tier says it.
  const platform = item.facets.platform;
  const other = platform ? platform !== p.platform : !item.facets.tier.includes(p.tier);
  const text = !other
    ? p.t('text.handled_by', { department, tier })
    : platform
      ? p.t('text.other_platform', { platform: p.platformName(platform) ?? platform, department, tier })
      : p.t('text.other_tier', { department, tier });
  return html`<span class="where${other ? ' other' : ''}">${text}</span>`;
}

function itemList(p: CatalogPageContext, items: ItemSummary[]): Html {
  return html`<ol class="results">
    ${items.map(
      (item) =>
        html`<li>
          <a href="${withLang(`/items/${encodeURIComponent(item.code)}`, p.lang)}">${item.name}</a>
          ${handledBy(p, item)}
        </li>`,
    )}
  </ol>`;
}

export function searchResultsPage(p: CatalogPageContext, q: string, results: ItemSummary[]): string {
  return layout(
    p,
    p.t('page.search'),
    html`${searchForm(p, q)}
      <p class="hint" role="status">${results.length ? p.t('text.results', { count: results.length }) : p.t('text.no_results')}</p>
      ${itemList(p, results)}`,
  );
}

export function browsePage(p: CatalogPageContext, facet: string, value: string, items: ItemSummary[]): string {
  return layout(
    p,
    `${p.t('page.browse')}：${facetValue(p, facet, value)}`,
    html`${searchForm(p)}
      <p class="hint">${items.length ? p.t('text.count', { count: items.length }) : p.t('text.no_items')}</p>
      ${itemList(p, items)}`,
  );
}

/** A value of the guide: text, a list of texts, a list of records (materials, steps, fees) or one record (the result). */
function guideValue(p: PageContext, value: unknown): Html | string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '—';
    return value.every((v) => typeof v !== 'object')
      ? html`<ul>
          ${value.map((v) => html`<li>${String(v)}</li>`)}
        </ul>`
      : html`<ol class="records">
          ${value.map((v) => html`<li>${guideValue(p, v)}</li>`)}
        </ol>`;
  }
  return html`<dl class="record">
    ${Object.entries(value as Record<string, unknown>).map(
      ([key, v]) =>
        html`<dt>${label(p, 'guide', key)}</dt>
          <dd>${guideValue(p, v)}</dd>`,
    )}
  </dl>`;
}

export function guidePage(p: CatalogPageContext, guide: Guide): string {
  const platform = guide.platform && guide.platform !== p.platform ? (p.platformName(guide.platform) ?? guide.platform) : null;
  return layout(
    p,
    guide.title,
    html`${platform ? html`<p class="where other">${p.t('text.guide_platform', { platform })}</p>` : ''}
      <dl class="guide">
        ${guide.sections.map(
          (s) =>
            html`<dt>${s.label[p.locale]}</dt>
              <dd>${guideValue(p, s.value)}</dd>`,
        )}
      </dl>
      <p class="hint">${guide.code} · v${guide.version}</p>
      <p><a class="button" href="${withLang(`/apply/${encodeURIComponent(guide.code)}`, p.lang)}">${p.t('action.apply')}</a></p>
      ${
        platform
          ? '' // its questions are answered at the platform that handles it (409 handled_elsewhere here)
          : html`<p><a href="${withLang(`/ask?item=${encodeURIComponent(guide.code)}`, p.lang)}">${p.t('action.ask_about_item')}</a></p>`
      }
      ${searchForm(p)}`,
  );
}

/** 我要办: the answers so far travel as hidden fields; each question is one GET form. */
export function narrowPage(p: CatalogPageContext, answers: Record<string, string>, step: Narrowing): string {
  const question = step.question;
  const done = !question;
  const body = question
    ? html`<form class="narrow" method="get" action="/narrow">
        ${Object.entries(answers).map(([k, v]) => hidden(k, v))} ${p.lang ? hidden('lang', p.lang) : ''}
        <fieldset>
          <legend>${question.text[p.locale]}</legend>
          ${question.options.map(
            (o, i) =>
              html`<label class="option"
                ><input type="radio" name="${question.key}" value="${o.value}" required ${i === 0 ? 'checked' : ''} />
                ${o.label ?? facetValue(p, question.key, o.value)} <span class="hint">${o.count}</span></label
              >`,
          )}
        </fieldset>
        <button type="submit">${p.t('action.next')}</button>
      </form>`
    : step.candidates.length
      ? html`<p>${p.t('text.narrow_found')}</p>
          <ul class="results">
            ${step.candidates.map(
              (c) => html`<li><a href="${withLang(`/items/${encodeURIComponent(c.code)}`, p.lang)}">${c.name}</a></li>`,
            )}
          </ul>`
      : html`<p>${p.t('text.narrow_none')}</p>`;
  return layout(
    p,
    p.t('page.narrow'),
    html`${done ? '' : html`<p class="lead">${p.t('text.narrow_intro')}</p>`} ${body}
      <p><a href="${withLang('/narrow', p.lang)}">${p.t('action.start_over')}</a></p>`,
  );
}
