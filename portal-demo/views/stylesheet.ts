/** The one stylesheet of the portal's pages, served from the portal's own origin (no inline styles under the CSP). */
export const STYLESHEET_PATH = '/assets/portal.css';

const DEFAULT_BRAND = '#0b4f8a';

/** The stylesheet in the portal's brand colour (a hybrid city front wears its city's). */
export function stylesheet(brand = DEFAULT_BRAND): string {
  return STYLESHEET.replace(`--brand: ${DEFAULT_BRAND};`, `--brand: ${brand};`);
}

const STYLESHEET = `
:root { --brand: #0b4f8a; --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --bg: #f5f7fa; --err: #b00020; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.6 "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", system-ui, sans-serif; color: var(--ink); background: var(--bg); }
.skip { position: absolute; left: -10000px; top: 0; }
.skip:focus { left: 8px; top: 8px; background: #fff; color: var(--brand); padding: 6px 10px; z-index: 10; }
header.site { background: var(--brand); color: #fff; padding: 12px 24px; display: flex; justify-content: space-between; align-items: center; }
header.site a { color: #fff; }
header.site .name { font-weight: 600; font-size: 1.1em; }
main { max-width: 560px; margin: 32px auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 24px 28px; }
h1 { font-size: 1.4em; margin: 0 0 16px; }
p.lead { margin: 0 0 12px; }
.hint { color: var(--muted); font-size: .9em; }
.error { color: var(--err); background: #fdecea; border-left: 4px solid var(--err); padding: 8px 12px; margin: 0 0 12px; }
dl.claims { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 16px 0; }
dl.claims dt { font-weight: 600; color: var(--muted); }
dl.claims dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: .9em; background: var(--bg); padding: 0 4px; border-radius: 3px; }
form.inline { display: inline-block; margin: 0 8px 0 0; }
button { margin-top: 12px; padding: 10px 22px; font-size: 1em; border: 0; border-radius: 4px; background: var(--brand); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--brand); border: 1px solid var(--brand); }
a:focus, button:focus { outline: 3px solid #f0b429; outline-offset: 1px; }
h2 { font-size: 1.1em; margin: 20px 0 8px; }
form.search label { display: block; font-weight: 600; margin: 16px 0 4px; }
form.search .row { display: flex; gap: 8px; }
form.search input { flex: 1; min-width: 0; padding: 9px 10px; font-size: 1em; border: 1px solid var(--muted); border-radius: 4px; }
form.search button { margin-top: 0; padding: 9px 16px; }
ol.results { padding-left: 1.4em; }
ol.results li, ul.results li { margin: 10px 0; }
.where { display: block; color: var(--muted); font-size: .9em; }
.where.other { color: #8a4b00; }
nav.browse details { border-top: 1px solid var(--line); padding: 6px 0; }
nav.browse summary { cursor: pointer; font-weight: 600; padding: 4px 0; }
ul.chips { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 6px 14px; }
dl.guide dt { font-weight: 600; color: var(--brand); margin-top: 14px; border-bottom: 1px solid var(--line); }
dl.guide dd { margin: 6px 0 0; overflow-wrap: anywhere; }
dl.guide ul, dl.guide ol { margin: 0; padding-left: 1.3em; }
dl.record { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 4px 0 10px; }
dl.record dt { color: var(--muted); }
dl.record dd { margin: 0; overflow-wrap: anywhere; }
.notice { background: #e3f2fd; border-left: 4px solid #1565c0; padding: 8px 12px; margin: 0 0 12px; }
section.record { border-top: 1px solid var(--line); }
section.record h3 { font-size: 1em; margin: 10px 0 4px; }
dd.refused { color: var(--err); }
fieldset { border: 1px solid var(--line); border-radius: 4px; margin: 12px 0; }
label.option { display: block; padding: 6px 0; }
nav.cases-links, nav.filters { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 12px 0; }
a.button { display: inline-block; padding: 10px 22px; border-radius: 4px; background: var(--brand); color: #fff; text-decoration: none; }
form.case label { display: block; font-weight: 600; margin: 12px 0 4px; }
form.case label.option, form.case label.hint { font-weight: normal; }
form.case input:not([type=checkbox]), form.case select, form.case textarea { width: 100%; padding: 8px; font: inherit; border: 1px solid var(--muted); border-radius: 4px; }
ol.materials, ol.timeline { padding-left: 1.3em; }
ol.materials li, ol.timeline li { margin: 10px 0; }
.material { display: block; font-weight: 600; }
ul.plain, ul.cases { padding-left: 1.2em; }
ul.cases li { margin: 8px 0; }
.flag { font-size: .8em; padding: 1px 6px; border-radius: 3px; margin-left: 6px; }
.flag.overdue { background: #fdecea; color: var(--err); }
.flag.due_soon { background: #fff4e5; color: #8a4b00; }
.flag.paused { background: var(--bg); color: var(--muted); }
.number { font-size: 1.1em; overflow-wrap: anywhere; }
code.digest { overflow-wrap: anywhere; }
form.action { border-top: 1px solid var(--line); margin-top: 16px; }
label.field { display: block; font-weight: 600; margin: 14px 0 4px; }
form.voice textarea, form.voice select, form.voice input[type="date"] { display: block; width: 100%; padding: 8px 10px; font: inherit; border: 1px solid var(--muted); border-radius: 4px; }
form.voice button { margin-right: 8px; }
.actions { display: flex; flex-wrap: wrap; gap: 4px 14px; }
ol.steps { padding-left: 1.3em; color: var(--muted); }
.ok { color: #1e6b2e; background: #e8f5e9; border-left: 4px solid #1e6b2e; padding: 8px 12px; margin: 0 0 12px; }
form.fields label { display: block; font-weight: 600; margin: 14px 0 4px; }
form.fields label.option { font-weight: normal; margin: 0; }
form.fields input:not([type=checkbox]), textarea.token { width: 100%; padding: 8px 10px; font-size: 1em; border: 1px solid var(--muted); border-radius: 4px; }
textarea.token { font: .85em/1.4 ui-monospace, monospace; overflow-wrap: anywhere; }
.state { font-size: .85em; padding: 1px 8px; border-radius: 10px; background: #e8f5e9; color: #1e6b2e; }
.state.suspended, .state.expired { background: #fff4e5; color: #8a4b00; }
.state.revoked { background: #fdecea; color: var(--err); }
ul.licenses { list-style: none; padding: 0; }
ul.licenses li { border-top: 1px solid var(--line); padding: 10px 0; }
figure.qr { margin: 16px 0; text-align: center; }
figure.qr img { max-width: 100%; height: auto; }
ul.license-actions { padding-left: 1.2em; }
@media (max-width: 600px) {
  header.site { padding: 10px 14px; }
  main { margin: 0; border: 0; border-radius: 0; padding: 16px 14px; }
  dl.record { grid-template-columns: 1fr; }
}
footer { text-align: center; color: var(--muted); font-size: .85em; margin: 16px; }
`;
