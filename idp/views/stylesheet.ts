/** The one stylesheet of the OP's pages, served from its own origin (no inline styles under the CSP). */
export const STYLESHEET_PATH = '/assets/gov-id.css';

export const STYLESHEET = `
:root { --brand: #b71c1c; --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --bg: #f5f7fa; --err: #b00020; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.6 "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", system-ui, sans-serif; color: var(--ink); background: var(--bg); }
header.site { background: var(--brand); color: #fff; padding: 12px 24px; display: flex; justify-content: space-between; align-items: center; }
header.site a { color: #fff; }
main { max-width: 440px; margin: 32px auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 24px 28px; }
h1 { font-size: 1.4em; margin: 0 0 16px; }
label { display: block; font-weight: 600; margin: 14px 0 4px; }
input[type=text], input[type=password], input[type=tel] { width: 100%; padding: 9px 10px; border: 1px solid #9aa5b1; border-radius: 4px; font-size: 1em; }
input:focus, button:focus, a:focus { outline: 3px solid #f0b429; outline-offset: 1px; }
.hint { color: var(--muted); font-size: .9em; margin: 4px 0 0; }
.error { color: var(--err); background: #fdecea; border-left: 4px solid var(--err); padding: 8px 12px; margin: 0 0 12px; }
.notice { background: #e3f2fd; border-left: 4px solid #1565c0; padding: 8px 12px; margin: 0 0 12px; }
.field-error { color: var(--err); font-size: .9em; margin: 4px 0 0; }
button { margin-top: 18px; width: 100%; padding: 10px; font-size: 1em; border: 0; border-radius: 4px; background: var(--brand); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--brand); border: 1px solid var(--brand); }
.row { display: flex; gap: 8px; align-items: flex-end; }
.row > div { flex: 1; }
.row button { width: auto; white-space: nowrap; }
ul.scopes { padding-left: 20px; }
fieldset { border: 0; padding: 0; margin: 0; }
legend { font-weight: 600; margin-bottom: 8px; }
label.choice { font-weight: normal; display: flex; gap: 8px; align-items: center; margin: 6px 0; }
h2 { font-size: 1.1em; margin: 24px 0 4px; }
table { width: 100%; border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: 6px 4px; font-size: .95em; }
td form button { margin: 0; width: auto; padding: 4px 10px; }
main.wide { max-width: 760px; }
nav.links { margin-top: 16px; display: flex; flex-direction: column; gap: 6px; }
dl.data-request { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
dl.data-request dt { color: var(--muted); }
dl.data-request dd { margin: 0; overflow-wrap: anywhere; }
section.consent { border-top: 1px solid var(--line); margin-top: 16px; }
footer { text-align: center; color: var(--muted); font-size: .85em; margin: 16px; }
`;

/** The stylesheet carrying a hybrid-mode city's brand colour. */
export const brandStylesheetPath = (code: string) => `/assets/brand/${code}.css`;
