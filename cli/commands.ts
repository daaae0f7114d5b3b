/**
 * The `gov-id` command line's table: its options, and for each command the words that name it,
 * its lines in `gov-id help` and its code, imported only when that command runs (so `gov-id help`
 * and a usage error load nothing else). Adding a command is one entry here.
 */
import { parseArgs } from 'node:util';
import { PLAN_NAMES } from '../conformance/plan-names.ts';
import { UsageError, type Command } from './command.ts';

const OPTIONS = {
  topology: { type: 'string' },
  data: { type: 'string' },
  entity: { type: 'string' },
  demo: { type: 'boolean' },
  port: { type: 'string' },
  workers: { type: 'string' },
  name: { type: 'string' },
  to: { type: 'string' },
  'rep-id-number': { type: 'string' },
  'id-number': { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  'backchannel-logout-uri': { type: 'string' },
  public: { type: 'boolean' },
  scope: { type: 'string' },
  'require-par': { type: 'boolean' },
  jwks: { type: 'string' },
  subject: { type: 'string' },
  policy: { type: 'string' },
  'trust-anchor': { type: 'string' },
  sub: { type: 'string' },
  type: { type: 'string' },
  'max-loa': { type: 'string' },
  'expires-at': { type: 'string' },
  lead: { type: 'string' },
  limit: { type: 'string' },
  grace: { type: 'string' },
  actor: { type: 'string' },
  person: { type: 'string' },
  note: { type: 'string' },
  file: { type: 'string' },
  authority: { type: 'string' },
  role: { type: 'string' },
  item: { type: 'string' },
  op: { type: 'string' },
  audience: { type: 'string' },
  nonce: { type: 'string' },
  'require-key-binding': { type: 'boolean' },
  reason: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  // conformance's own (it also reads --redirect-uri, --post-logout-redirect-uri, --scope, --trust-anchor)
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  'client-auth': { type: 'string' },
  register: { type: 'boolean' },
  plan: { type: 'string', multiple: true },
  module: { type: 'string', multiple: true },
  report: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'par-client-id': { type: 'string' },
  'par-client-secret': { type: 'string' },
  'jwt-client-id': { type: 'string' },
  'jwt-key': { type: 'string' },
  'lockout-username': { type: 'string' },
  'lockout-password': { type: 'string' },
  'home-issuer': { type: 'string' },
  'home-username': { type: 'string' },
  'home-password': { type: 'string' },
  'entity-id': { type: 'string' },
  'trust-anchor-jwks': { type: 'string' },
  slow: { type: 'boolean' },
  'max-code-ttl': { type: 'string' },
  timeout: { type: 'string' },
} as const;

/** The options and words of a command line; an unknown option throws (code ERR_PARSE_ARGS_…). */
export function parseCommandLine(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

export type CommandValues = ReturnType<typeof parseCommandLine>['values'];

export interface CommandEntry {
  /** The words after `gov-id` that name the command. */
  words: string;
  /** Its options as `gov-id help` shows them; a line break starts an indented line. */
  synopsis?: string;
  /** What it does, for `gov-id help`: one line or a few. */
  summary: string;
  run: Command;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    words: 'start',
    synopsis: '[--workers N] [--topology FILE] [--data DIR]',
    summary: 'start the whole federation (demo mode)\n(--workers: processes; default one per core on PostgreSQL and Redis, else one)',
    run: (c) => import('./host-commands.ts').then((m) => m.start(c)),
  },
  {
    words: 'serve',
    synopsis: '--entity ID [--port N] [--workers N] [--topology FILE] [--data DIR] [--demo]',
    summary:
      "serve one entity, as a deployment runs it\n(--port or GOV_ID_PORT: listen there, not on the topology's port;\n--workers: processes, as for start)",
    run: (c) => import('./host-commands.ts').then((m) => m.serve(c)),
  },
  {
    words: 'migrate',
    synopsis: '[--entity ID]',
    summary: 'apply database migrations',
    run: (c) => import('./host-commands.ts').then((m) => m.migrate(c)),
  },
  {
    words: 'topology',
    synopsis: '[--topology FILE]',
    summary: 'print every entity as JSON',
    run: (c) => import('./topology-command.ts').then((m) => m.topology(c)),
  },
  {
    words: 'admin person add',
    synopsis: '[--name NAME]',
    summary: 'add a person to the population registry',
    run: (c) => import('./admin-commands.ts').then((m) => m.addPerson(c)),
  },
  {
    words: 'admin org add',
    synopsis: '[--rep-id-number ID]',
    summary: 'add an organization to the legal-person registry\n(its legal representative: that person, or a new one)',
    run: (c) => import('./admin-commands.ts').then((m) => m.addOrganization(c)),
  },
  {
    words: 'admin outbox',
    synopsis: '--to PHONE',
    summary: 'show the messages sent to a phone',
    run: (c) => import('./admin-commands.ts').then((m) => m.showOutbox(c)),
  },
  {
    words: 'admin account move',
    synopsis: '--entity ID --id-number ID --to ENTITY',
    summary: "relocation: the account's home moves from --entity to --to\n(the old home then sends its logins to the new one)",
    run: (c) => import('./admin-commands.ts').then((m) => m.moveAccount(c)),
  },
  {
    words: 'admin account conflicts',
    synopsis: '--entity ID',
    summary: 'publications the superior refused because the person or\norganization already has another home (docs/recognition.md)',
    run: (c) => import('./account-conflicts-command.ts').then((m) => m.accountConflictsCommand('conflicts', c)),
  },
  {
    words: 'admin account close-duplicate',
    synopsis: '--entity ID --id-number ID --to ENTITY',
    summary: 'a conflict resolved: the person keeps the account at ENTITY;\nthe one at --entity ends as if moved there',
    run: (c) => import('./account-conflicts-command.ts').then((m) => m.accountConflictsCommand('close-duplicate', c)),
  },
  {
    words: 'admin account retry-conflicts',
    synopsis: '--entity ID',
    summary: 'deliver the publications kept as conflicts again',
    run: (c) => import('./account-conflicts-command.ts').then((m) => m.accountConflictsCommand('retry-conflicts', c)),
  },
  {
    words: 'admin client add',
    synopsis:
      '--entity ID --redirect-uri URI [--redirect-uri URI ...]\n[--public] [--scope "openid profile ..."] [--name NAME]\n[--post-logout-redirect-uri URI] [--backchannel-logout-uri URI] [--require-par] [--jwks FILE]',
    summary:
      'register a client at an OP; prints its credentials\n(--jwks: a JWK Set of its public keys, EC P-256 or RSA:\na private_key_jwt client, with no secret)',
    run: (c) => import('./admin-commands.ts').then((m) => m.addClient(c)),
  },
  {
    words: 'federation list',
    synopsis: '--entity AUTH',
    summary: 'subordinates of an authority (national or a province) and their policies',
    run: (c) => import('./federation-command.ts').then((m) => m.runFederationCommand('list', c)),
  },
  {
    words: 'federation add-subordinate',
    synopsis: '--entity AUTH --subject URL [--policy FILE]',
    summary: 'vouch for an entity (URL or topology ID)',
    run: (c) => import('./federation-command.ts').then((m) => m.runFederationCommand('add-subordinate', c)),
  },
  {
    words: 'federation remove-subordinate',
    synopsis: '--entity AUTH --subject URL',
    summary: 'stop vouching for an entity',
    run: (c) => import('./federation-command.ts').then((m) => m.runFederationCommand('remove-subordinate', c)),
  },
  {
    words: 'federation set-policy',
    synopsis: '--entity AUTH [--subject URL] --policy FILE',
    summary: 'metadata policy of one subordinate, or of all (without --subject);\na file holding {} removes it',
    run: (c) => import('./federation-command.ts').then((m) => m.runFederationCommand('set-policy', c)),
  },
  {
    words: 'federation show-chain',
    synopsis: '--entity ID [--trust-anchor URL]',
    summary: "resolve an entity's trust chain in the running federation",
    run: (c) => import('./federation-command.ts').then((m) => m.runFederationCommand('show-chain', c)),
  },
  {
    words: 'federation trust-marks list',
    synopsis: '[--sub URL] [--type TYPE]',
    summary: 'trust marks the national platform issues, and their state',
    run: (c) => import('./trust-mark-command.ts').then((m) => m.runTrustMarkCommand('list', c)),
  },
  {
    words: 'federation trust-marks grant',
    synopsis: '--sub URL --type TYPE [--max-loa loa1|loa2|loa3] [--expires-at DATE]',
    summary: 'give an entity a trust mark (TYPE: real-name-op, government-portal)',
    run: (c) => import('./trust-mark-command.ts').then((m) => m.runTrustMarkCommand('grant', c)),
  },
  {
    words: 'federation trust-marks revoke',
    synopsis: '--sub URL --type TYPE',
    summary: 'withdraw it (the status endpoint answers "revoked" at once)',
    run: (c) => import('./trust-mark-command.ts').then((m) => m.runTrustMarkCommand('revoke', c)),
  },
  {
    words: 'keys list',
    synopsis: '--entity ID',
    summary: "the entity's federation keys (signing, published, historical)",
    run: (c) => import('./entity-admin-commands.ts').then((m) => m.listKeys(c)),
  },
  {
    words: 'keys rotate',
    synopsis: '--entity ID [--lead SECONDS] [--grace SECONDS]',
    summary:
      'publish a new federation key that signs after --lead (default 600);\nthe old one stays published for --grace more (default 86400)',
    run: (c) => import('./entity-admin-commands.ts').then((m) => m.rotateKeys(c)),
  },
  {
    words: 'audit list',
    synopsis: '--entity ID [--limit N]',
    summary: "the newest entries of the entity's audit log",
    run: (c) => import('./entity-admin-commands.ts').then((m) => m.listAudit(c)),
  },
  {
    words: 'audit verify',
    synopsis: '--entity ID',
    summary: "walk the audit log's hash chain; exit 1 if it is broken",
    run: (c) => import('./entity-admin-commands.ts').then((m) => m.verifyAudit(c)),
  },
  {
    words: 'catalog import',
    synopsis: '--entity ID FILE',
    summary: 'import a catalog file into a services entity (docs/catalog.md)',
    run: (c) => import('./catalog-command.ts').then((m) => m.importCatalog(c)),
  },
  {
    words: 'catalog export',
    synopsis: '--entity ID FILE',
    summary: 'write its catalog, newest published versions, to FILE',
    run: (c) => import('./catalog-command.ts').then((m) => m.exportCatalog(c)),
  },
  {
    words: 'catalog list',
    synopsis: '--entity ID',
    summary: 'implementation items in force',
    run: (c) => import('./catalog-command.ts').then((m) => m.listCatalog(c)),
  },
  {
    words: 'catalog show',
    synopsis: '--entity ID CODE',
    summary: 'one item in force',
    run: (c) => import('./catalog-command.ts').then((m) => m.showItem(c)),
  },
  {
    words: 'catalog search',
    synopsis: '--entity ID QUERY',
    summary: 'search items in force, best first',
    run: (c) => import('./catalog-command.ts').then((m) => m.searchCatalog(c)),
  },
  {
    words: 'catalog pull',
    synopsis: '--entity ID',
    summary: "pull the catalog feed of the platform above now: its items' new versions, and what they changed here",
    run: (c) => import('./catalog-command.ts').then((m) => m.pullFeed(c)),
  },
  {
    words: 'catalog change submit',
    synopsis: '--entity ID --actor CODE --person NAME FILE',
    summary: 'draft the change in FILE and submit it for approval',
    run: (c) => import('./catalog-command.ts').then((m) => m.submitChange(c)),
  },
  {
    words: 'catalog change approve',
    synopsis: '--entity ID --actor CODE --person NAME CHANGE',
    summary: 'publish a submitted change (a reviewer of its owner)',
    run: (c) => import('./catalog-command.ts').then((m) => m.decideChange(c, 'approve')),
  },
  {
    words: 'catalog change reject',
    synopsis: '--entity ID --actor CODE --person NAME [--note TEXT] CHANGE',
    summary: 'turn a submitted change down',
    run: (c) => import('./catalog-command.ts').then((m) => m.decideChange(c, 'reject')),
  },
  {
    words: 'catalog change history',
    synopsis: '--entity ID CODE',
    summary: "an item's versions: state, who, when",
    run: (c) => import('./catalog-command.ts').then((m) => m.changeHistory(c)),
  },
  {
    words: 'exchange log verify',
    synopsis: '--entity ID | --file FILE [--trust-anchor URL --trust-anchor-jwks FILE]',
    summary:
      "check a data-sharing node's access log: hash chain, each\nentry's signature, the node's keys through its trust chain;\nexit status 1 when it does not verify (docs/exchange.md)",
    run: (c) => import('./exchange-command.ts').then((m) => m.verifyLog(c)),
  },
  {
    words: 'exchange log export',
    synopsis: '--entity ID FILE',
    summary: 'write its access log as a signed bundle that verifies offline',
    run: (c) => import('./exchange-command.ts').then((m) => m.exportLog(c)),
  },
  {
    words: 'staff grant',
    synopsis: '--entity ID --id-number ID --authority CODE --role ROLE[,ROLE]',
    summary:
      'grant staff roles at an implementing authority\n(receiver, acceptor, reviewer, decider, sender; answerer, rectifier, supervisor)',
    run: (c) => import('./staff-command.ts').then((m) => m.grantStaff(c)),
  },
  {
    words: 'staff revoke',
    synopsis: '--entity ID --id-number ID --authority CODE --role ROLE[,ROLE]',
    summary: 'take staff roles back',
    run: (c) => import('./staff-command.ts').then((m) => m.revokeStaff(c)),
  },
  {
    words: 'staff list',
    synopsis: '--entity ID --authority CODE',
    summary: "an authority's staff and their roles (ID numbers masked)",
    run: (c) => import('./staff-command.ts').then((m) => m.listStaff(c)),
  },
  {
    words: 'cases stats',
    synopsis: '--entity ID [--authority CODE] [--item CODE]',
    summary: 'supervision: cases received, closed, overdue and\ntime against the promised limit, per authority and item',
    run: (c) => import('./cases-command.ts').then((m) => m.caseStats(c)),
  },
  {
    words: 'demo story',
    synopsis: '[--entity SERVICES] [--op OP]',
    summary:
      'run the cases story against the running demo over HTTP:\nregister, apply, correct, decide in parallel, close;\nexit status 0 only if every step answers as expected',
    run: (c) => import('./demo-story-command.ts').then((m) => m.demoStory(c)),
  },
  {
    words: 'ratings stats',
    synopsis: '--entity ID [--authority CODE] [--item CODE]',
    summary: 'the public figures of 好差评: ratings by level, bad-rating rate\nand rectification on time, per authority and item',
    run: (c) => import('./ratings-command.ts').then((m) => m.ratingStats(c)),
  },
  {
    words: 'license verify',
    synopsis: '[--entity ID] [--audience A --nonce N] [--require-key-binding] FILE',
    summary:
      'verify an e-license (JWS, SD-JWT, SD-JWT+KB; - is stdin)\nhere, or at a services entity (--entity); exit 1 when a\ncheck fails, 3 when it cannot be checked now (docs/licenses.md)',
    run: (c) => import('./license-command.ts').then((m) => m.verifyLicense(c)),
  },
  {
    words: 'license issue',
    synopsis: '--entity ID FILE',
    summary: 'issue the licence FILE describes (as POST /admin/licenses)',
    run: (c) => import('./license-command.ts').then((m) => m.issueLicense(c)),
  },
  {
    words: 'license revoke',
    synopsis: '--entity ID --reason TEXT LICENSE_ID',
    summary: 'revoke a licence (its status list says so at once)',
    run: (c) => import('./license-command.ts').then((m) => m.changeLicenseState(c, 'revoke')),
  },
  {
    words: 'license suspend',
    synopsis: '--entity ID --reason TEXT LICENSE_ID',
    summary: 'suspend a licence until it is reinstated',
    run: (c) => import('./license-command.ts').then((m) => m.changeLicenseState(c, 'suspend')),
  },
  {
    words: 'license reinstate',
    synopsis: '--entity ID --reason TEXT LICENSE_ID',
    summary: 'make a suspended licence valid again',
    run: (c) => import('./license-command.ts').then((m) => m.changeLicenseState(c, 'reinstate')),
  },
  {
    words: 'conformance',
    synopsis: [
      '--issuer URL [--client-id ID --client-secret S --redirect-uri URI | --register]',
      '[--username ID_OR_PHONE --password P] [--plan NAME[,NAME]] [--module NAME] [--report FILE]',
      '[--par-client-id ID --par-client-secret S] [--lockout-username U --lockout-password P]',
      '[--jwt-client-id ID --jwt-key FILE] [--post-logout-redirect-uri URI] [--client-auth METHOD]',
      '[--home-issuer URL --home-username ID --home-password P]',
      '[--entity-id URL] [--trust-anchor URL] [--trust-anchor-jwks FILE] [--scope S]',
      '[--slow] [--max-code-ttl SECONDS] [--timeout SECONDS]',
    ].join('\n'),
    summary: `check a deployed OP against the OpenID and federation\nspecifications (plans: ${PLAN_NAMES.join(', ')});\nexit status 1 when a module fails (docs/conformance.md)`,
    run: (c) => import('./conformance-command.ts').then((m) => m.runConformanceCommand(c)),
  },
];

/** The column where a command's summary starts in `gov-id help`. */
const SUMMARY_COLUMN = 53;

function usage(entry: CommandEntry): string {
  const lines = `gov-id ${entry.words}${entry.synopsis ? ` ${entry.synopsis}` : ''}`
    .split('\n')
    .map((l, i) => (i === 0 ? `  ${l}` : `        ${l}`));
  const summary = entry.summary.split('\n');
  const last = lines[lines.length - 1]!;
  if (last.length + 2 <= SUMMARY_COLUMN) lines[lines.length - 1] = last.padEnd(SUMMARY_COLUMN) + summary.shift();
  return [...lines, ...summary.map((l) => ' '.repeat(SUMMARY_COLUMN) + l)].join('\n');
}

export const HELP = `gov-id — federated identity for Internet + government services

Usage:
${COMMANDS.map(usage).join('\n')}

Environment: DATABASE_URL, REDIS_URL, GOV_ID_DATA, GOV_ID_MASTER_KEY, GOV_ID_TOPOLOGY (see README.md).
`;

/**
 * The command that the words of a command line name (the longest match, so `federation
 * trust-marks list` is not `federation …`), and the words after it. Throws a UsageError that
 * lists the commands a partial match could go on with.
 */
export function findCommand(words: string[]): { command: CommandEntry; args: string[] } {
  let best: CommandEntry | undefined;
  for (const entry of COMMANDS) {
    const own = entry.words.split(' ');
    if (own.every((w, i) => words[i] === w) && own.length > (best?.words.split(' ').length ?? 0)) best = entry;
  }
  if (best) return { command: best, args: words.slice(best.words.split(' ').length) };
  // The longest start of the words that some commands begin with: `admin`, `federation trust-marks` …
  for (let n = words.length; n > 0; n--) {
    const group = words.slice(0, n).join(' ');
    const rest = COMMANDS.filter((e) => e.words.startsWith(`${group} `)).map((e) => e.words.slice(group.length + 1));
    if (rest.length === 0) continue;
    const next = words.slice(n).join(' ');
    throw new UsageError(`${next ? `unknown ${group} command: ${next}` : `${group} needs a command`}; use one of ${rest.join(', ')}`);
  }
  throw new UsageError(`unknown command: ${words[0]}`);
}
