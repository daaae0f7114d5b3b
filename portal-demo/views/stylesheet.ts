/** The one stylesheet of the portal's pages, served from the portal's own origin (no inline styles under the CSP). */
export const STYLESHEET_PATH = '/assets/portal.css';

export const STYLESHEET = `
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
footer { text-align: center; color: var(--muted); font-size: .85em; margin: 16px; }
`;
