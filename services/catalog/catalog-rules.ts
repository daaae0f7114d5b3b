/**
 * Rules that relate catalog items to each other: parents exist, codes agree with the items they
 * name, and an implementation item never contradicts its directory item (the same name, type,
 * basis and basic code everywhere; the same legal time limit; a user type and a tier the directory
 * allows). Each refusal names the element (`path`) and says what is wrong.
 */
import { BadRequest } from '../../infra/errors.ts';
import type { Authority, DirectoryItem, ImplementationItem } from './catalog-schema.ts';
import { mainItemOf, parseBasicCode, parseImplementingCode, TIER_DIGITS } from './item-codes.ts';

/** What the rules look up: the catalog as it will be (the store, or a file being imported over it). */
export interface CatalogLookup {
  authority(code: string): Promise<Authority | undefined>;
  directory(basicCode: string): Promise<DirectoryItem | undefined>;
  implementation(code: string): Promise<ImplementationItem | undefined>;
}

function refuse(code: string, path: string, message: string): never {
  throw new BadRequest(code, `${path}: ${message}`);
}

async function knownAuthority(lookup: CatalogLookup, code: string, path: string): Promise<Authority> {
  return (await lookup.authority(code)) ?? refuse('unknown_authority', path, `no authority ${code} in the catalog`);
}

export async function checkDirectoryItem(item: DirectoryItem, lookup: CatalogLookup, at = 'item'): Promise<void> {
  const owner = await knownAuthority(lookup, item.owner, `${at}.owner`);
  const code = parseBasicCode(item.basic_code);
  if (code.department !== owner.department) {
    refuse(
      'invalid_code',
      `${at}.basic_code`,
      `department code (digits 3-6) ${code.department} is not the owner's department ${owner.department}`,
    );
  }
  const main = mainItemOf(item.basic_code);
  if (main && !(await lookup.directory(main)))
    refuse('missing_parent', `${at}.basic_code`, `sub-item of main item ${main}, which is not in the catalog`);
}

export async function checkImplementationItem(item: ImplementationItem, lookup: CatalogLookup, at = 'item'): Promise<void> {
  const authority = await knownAuthority(lookup, item.implementing_authority, `${at}.implementing_authority`);
  for (const [i, code] of item.assisting_authorities.entries()) {
    await knownAuthority(lookup, code, `${at}.assisting_authorities.${i}`);
    if (code === item.implementing_authority)
      refuse('invalid_item', `${at}.assisting_authorities.${i}`, 'the implementing authority does not assist itself');
  }
  const directory =
    (await lookup.directory(item.basic_code)) ??
    refuse('missing_parent', `${at}.basic_code`, `no directory item ${item.basic_code} in the catalog`);

  const ownCode = parseImplementingCode(item.implementing_code);
  if (ownCode.authority !== item.implementing_authority)
    refuse('invalid_code', `${at}.implementing_code`, 'characters 1-18 are not the implementing authority');
  if (ownCode.basicCode !== item.basic_code) refuse('invalid_code', `${at}.implementing_code`, 'characters 20-31 are not the basic code');
  if (ownCode.tierDigit !== TIER_DIGITS[authority.tier])
    refuse(
      'invalid_code',
      `${at}.implementing_code`,
      `tier (character 19) is not ${TIER_DIGITS[authority.tier]}, the tier of the implementing authority (${authority.tier})`,
    );

  const isSubItem = mainItemOf(item.basic_code) !== null;
  if (item.level === 'main' && isSubItem)
    refuse('contradicts_directory', `${at}.level`, `directory item ${item.basic_code} is a sub-item: implement it as level "sub"`);
  if (item.level === 'sub' && !isSubItem)
    refuse('contradicts_directory', `${at}.level`, `directory item ${item.basic_code} is a main item: implement it as level "main"`);
  // Type, legal basis and basic code are the directory's own (not repeated); name and legal time limit are repeated and must agree.
  if (item.level !== 'handling' && item.name !== directory.name)
    refuse('contradicts_directory', `${at}.name`, `is "${directory.name}" in the directory`);
  if (item.legal_time_limit_days !== directory.legal_time_limit_days)
    refuse('contradicts_directory', `${at}.legal_time_limit_days`, `is ${directory.legal_time_limit_days} in the directory`);
  if (item.promised_time_limit_days > item.legal_time_limit_days)
    refuse('invalid_item', `${at}.promised_time_limit_days`, 'is longer than the legal time limit');
  if (!directory.user_types.includes(item.user_type))
    refuse('contradicts_directory', `${at}.user_type`, `the directory item serves ${directory.user_types.join(', ')}`);
  if (!directory.tiers.includes(authority.tier))
    refuse(
      'contradicts_directory',
      `${at}.implementing_authority`,
      `the directory item is listed at ${directory.tiers.join(', ')}, not at the ${authority.tier} tier`,
    );

  if (item.level === 'main') return;
  const parent =
    (await lookup.implementation(item.parent_code)) ??
    refuse('missing_parent', `${at}.parent_code`, `no implementation item ${item.parent_code} in the catalog`);
  if (parent.implementing_authority !== item.implementing_authority)
    refuse('invalid_item', `${at}.parent_code`, 'the parent is implemented by another authority');
  if (item.level === 'sub') {
    if (parent.level !== 'main' || parent.basic_code !== mainItemOf(item.basic_code))
      refuse('missing_parent', `${at}.parent_code`, `is not the main item ${mainItemOf(item.basic_code)} of this authority`);
  } else {
    if (parent.level === 'handling') refuse('invalid_item', `${at}.parent_code`, 'a handling item belongs to a main item or a sub-item');
    if (!item.implementing_code.startsWith(item.parent_code))
      refuse('invalid_code', `${at}.implementing_code`, "a handling item code starts with its parent's implementing code");
    if (parent.basic_code !== item.basic_code)
      refuse('contradicts_directory', `${at}.basic_code`, `is ${parent.basic_code} in the parent item`);
  }
}

/**
 * An implementation item brought in line with a new version of its directory item: the inherited
 * elements are copied; what cannot be decided mechanically is returned as flags for its owner.
 */
export function propagate(item: ImplementationItem, directory: DirectoryItem): { item: ImplementationItem; flags: string[] } {
  const next: ImplementationItem = { ...item, legal_time_limit_days: directory.legal_time_limit_days };
  if (item.level !== 'handling') next.name = directory.name;
  const flags: string[] = [];
  if (next.promised_time_limit_days > next.legal_time_limit_days) {
    flags.push(
      `promised_time_limit_days: ${next.promised_time_limit_days} is longer than the new legal time limit ${next.legal_time_limit_days}`,
    );
  }
  if (!directory.user_types.includes(next.user_type)) flags.push(`user_type: the directory item no longer serves ${next.user_type}`);
  return { item: next, flags };
}
