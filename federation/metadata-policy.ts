/**
 * Metadata policies (OpenID Federation 1.0, §6.1 "Metadata Policy"): validation of a policy,
 * merging the policies of a Trust Chain's Subordinate Statements (resolution, §6.1.4.1) and
 * applying the resolved policy to the Trust Chain subject's metadata (application, §6.1.4.2).
 *
 * Pure functions: no I/O, inputs are never mutated, outputs are fresh objects.
 *
 * Where the specification leaves a choice or is silent, the choice is marked "SPEC CHOICE".
 */
import { MetadataPolicyError, type MetadataPolicyErrorKind } from './federation-errors.ts';

/** entity type → metadata parameter → operator → operator value (§6.1.2 "Structure"). */
export type MetadataPolicy = Record<
  string /*entity type, e.g. openid_relying_party*/,
  Record<string /*parameter*/, Record<string /*operator*/, unknown>>
>;
export type EntityMetadata = Record<string, Record<string, unknown>>;

/**
 * The standard operators (§6.1.3.1) in their order of application: value first, then add,
 * default, one_of, subset_of, superset_of, and essential last.
 */
export const STANDARD_OPERATORS = ['value', 'add', 'default', 'one_of', 'subset_of', 'superset_of', 'essential'] as const;
export type StandardOperator = (typeof STANDARD_OPERATORS)[number];
const STANDARD = new Set<string>(STANDARD_OPERATORS);

/**
 * Additional (non-standard) operators this implementation understands and processes: none.
 * Unknown operators are ignored (§6.1.3.2) unless listed in `metadata_policy_crit`, which then
 * makes the policy invalid.
 */
export const SUPPORTED_ADDITIONAL_OPERATORS: ReadonlySet<string> = new Set<string>();

// ---------------------------------------------------------------------------------------------
// JSON value helpers
// ---------------------------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * JSON equality: objects compare member-wise regardless of member order, arrays element-wise
 * in order, strings code point by code point without normalization (§16 "String Operations").
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

const contains = (list: readonly unknown[], v: unknown): boolean => list.some((x) => jsonEqual(x, v));
const isSubset = (a: readonly unknown[], b: readonly unknown[]): boolean => a.every((x) => contains(b, x));
/** a, then the members of b not already in a (no duplicates added). */
const union = (a: readonly unknown[], b: readonly unknown[]): unknown[] => {
  const out = [...a];
  for (const x of b) if (!contains(out, x)) out.push(x);
  return out;
};
/** The members of a that are also in b, in a's order. */
const intersect = (a: readonly unknown[], b: readonly unknown[]): unknown[] => a.filter((x) => contains(b, x));
const clone = <T>(v: T): T => (v === undefined ? v : (structuredClone(v) as T));

/**
 * §6.1.3.1.8 "Notes on Operators": the OAuth `scope` client metadata parameter, a string of
 * space-separated values, is processed by the operators as an array of strings, and the result
 * is again a space-separated string. SPEC CHOICE: operator values for `scope` may be given either
 * as arrays or as space-separated strings; `one_of` compares the whole scope string.
 */
const SCOPE = 'scope';
function scopeArray(v: unknown): unknown {
  return typeof v === 'string' ? v.split(' ').filter((s) => s.length > 0) : v;
}
function asOperands(parameter: string, v: unknown): unknown {
  return parameter === SCOPE ? scopeArray(v) : v;
}

// ---------------------------------------------------------------------------------------------
// Validation (§6.1.2, §6.1.3)
// ---------------------------------------------------------------------------------------------

interface Where {
  entityType?: string;
  parameter?: string;
  operator?: string;
}

function fail(kind: MetadataPolicyErrorKind, message: string, where: Where): never {
  throw new MetadataPolicyError(kind, message, where);
}

const isArrayElement = (x: unknown) => typeof x === 'string' || typeof x === 'number' || isPlainObject(x);

/** Checks the JSON type of one standard operator's value. */
function checkOperatorValue(op: StandardOperator, v: unknown, where: Where): void {
  const w = { ...where, operator: op };
  switch (op) {
    case 'value':
      // string, number, boolean, array, null (mandatory); objects: optional, supported.
      if (v === undefined) fail('illegal', 'missing operator value', w);
      return;
    case 'default':
      // string, number, boolean, array (mandatory); objects: optional, supported. Not null.
      if (v === null || v === undefined) fail('illegal', 'default cannot be null', w);
      return;
    case 'add':
    case 'subset_of':
    case 'superset_of':
    case 'one_of':
      // array of strings (mandatory); arrays of objects or numbers (optional, supported).
      if (!Array.isArray(v)) fail('illegal', `${op} must be an array`, w);
      if (!v.every(isArrayElement)) fail('illegal', `${op} values must be strings, numbers or objects`, w);
      // SPEC CHOICE: an empty one_of can never be satisfied; by analogy with the merge rule
      // ("If the intersection is empty, this MUST result in a policy error") it is illegal.
      if (op === 'one_of' && v.length === 0) fail('illegal', 'one_of must not be empty', w);
      return;
    case 'essential':
      if (typeof v !== 'boolean') fail('illegal', 'essential must be a boolean', w);
      return;
  }
}

/**
 * The combination rules of §6.1.3.1 for the operators of one metadata parameter policy. Used
 * both for a single policy (`kind` 'illegal') and for the result of merging two (`kind`
 * 'conflict'): "If the resulting metadata parameter policy contains combinations that are not
 * allowed ... this MUST produce a policy error."
 */
function checkCombinations(pp: Record<string, unknown>, kind: MetadataPolicyErrorKind, where: Where): void {
  const has = (op: StandardOperator) => Object.hasOwn(pp, op);
  const param = where.parameter ?? '';

  // one_of may be combined only with value, default and essential.
  for (const other of ['add', 'subset_of', 'superset_of'] as const) {
    if (has('one_of') && has(other)) fail(kind, `one_of cannot be combined with ${other}`, where);
  }

  if (has('value')) {
    const value = pp.value;
    if (value === null) {
      if (has('default')) fail(kind, 'default cannot be combined with a null value', where);
      if (pp.essential === true) fail(kind, 'essential=true cannot be combined with a null value', where);
      // SPEC CHOICE: value null removes the parameter. "add ⊆ value" then holds only for an empty
      // add (a non-empty add would re-create what value removes). one_of, subset_of and
      // superset_of only check a parameter that is present, so they are vacuously satisfied by
      // a removed one and are allowed with a null value.
      if (has('add') && (pp.add as unknown[]).length > 0) fail(kind, 'add cannot be combined with a null value', where);
    } else {
      const values = asOperands(param, value);
      if (has('add')) {
        if (!Array.isArray(values)) fail(kind, 'add requires value to be an array', where);
        if (!isSubset(pp.add as unknown[], values)) fail(kind, 'the values of add must be a subset of value', where);
      }
      if (has('one_of') && !contains(pp.one_of as unknown[], value)) fail(kind, 'value must be one of the one_of values', where);
      if (has('subset_of')) {
        if (!Array.isArray(values)) fail(kind, 'subset_of requires value to be an array', where);
        if (!isSubset(values, pp.subset_of as unknown[])) fail(kind, 'value must be a subset of subset_of', where);
      }
      if (has('superset_of')) {
        if (!Array.isArray(values)) fail(kind, 'superset_of requires value to be an array', where);
        if (!isSubset(pp.superset_of as unknown[], values)) fail(kind, 'value must be a superset of superset_of', where);
      }
    }
  }
  if (has('add') && has('subset_of') && !isSubset(pp.add as unknown[], pp.subset_of as unknown[])) {
    fail(kind, 'the values of add must be a subset of subset_of', where);
  }
  if (has('subset_of') && has('superset_of') && !isSubset(pp.superset_of as unknown[], pp.subset_of as unknown[])) {
    fail(kind, 'subset_of must be a superset of superset_of', where);
  }
}

function checkCriticalOperators(criticalOperators: readonly unknown[]): void {
  for (const op of criticalOperators) {
    if (typeof op !== 'string') fail('illegal', 'metadata_policy_crit entries must be strings', {});
    if (STANDARD.has(op)) fail('illegal', `metadata_policy_crit must not list the standard operator ${op}`, {});
    if (!SUPPORTED_ADDITIONAL_OPERATORS.has(op)) fail('illegal', `critical operator ${op} is not supported`, { operator: op });
  }
}

/**
 * Validates a metadata policy: the three-level structure, each standard operator's value type,
 * and the allowed operator combinations (§6.1.2, §6.1.3). `criticalOperators` are the operator
 * names collected from the chain's `metadata_policy_crit` claims: an operator listed there that
 * this implementation does not support makes the policy invalid; other unknown operators are
 * ignored (§6.1.3.2). Throws MetadataPolicyError (kind 'illegal').
 */
export function validatePolicy(policy: MetadataPolicy, criticalOperators: readonly string[] = []): void {
  checkCriticalOperators(criticalOperators);
  // Every level "contains one or more members" (§6.1.2).
  if (!isPlainObject(policy)) fail('illegal', 'metadata_policy must be a JSON object', {});
  if (Object.keys(policy).length === 0) fail('illegal', 'metadata_policy must not be empty', {});
  for (const [entityType, params] of Object.entries(policy)) {
    if (!isPlainObject(params)) fail('illegal', 'entity type policy must be a JSON object', { entityType });
    if (Object.keys(params).length === 0) fail('illegal', 'entity type policy must not be empty', { entityType });
    for (const [parameter, ops] of Object.entries(params)) {
      const where = { entityType, parameter };
      if (!isPlainObject(ops)) fail('illegal', 'parameter policy must be a JSON object', where);
      if (Object.keys(ops).length === 0) fail('illegal', 'parameter policy must not be empty', where);
      for (const [op, v] of Object.entries(ops)) {
        if (STANDARD.has(op)) checkOperatorValue(op as StandardOperator, v, where);
        else if (criticalOperators.includes(op) && !SUPPORTED_ADDITIONAL_OPERATORS.has(op)) {
          fail('illegal', `critical operator ${op} is not supported`, { ...where, operator: op });
        }
      }
      checkCombinations(ops, 'illegal', where);
    }
  }
}

/** A copy with only the operators this implementation processes (unknown ones are ignored). */
function understood(policy: MetadataPolicy): MetadataPolicy {
  const out: MetadataPolicy = {};
  for (const [entityType, params] of Object.entries(policy)) {
    const outParams: Record<string, Record<string, unknown>> = {};
    for (const [parameter, ops] of Object.entries(params)) {
      const kept = Object.fromEntries(Object.entries(ops).filter(([op]) => STANDARD.has(op) || SUPPORTED_ADDITIONAL_OPERATORS.has(op)));
      if (Object.keys(kept).length) outParams[parameter] = clone(kept);
    }
    if (Object.keys(outParams).length) out[entityType] = outParams;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Resolution: merging (§6.1.4.1)
// ---------------------------------------------------------------------------------------------

/** Merges one operator's subordinate value into the current (superior) value (§6.1.3.1). */
function mergeOperator(op: StandardOperator, current: unknown, next: unknown, where: Where): unknown {
  const w = { ...where, operator: op };
  switch (op) {
    case 'value':
    case 'default':
      // "Allowed only when the operator values are equal." SPEC CHOICE: equality is JSON
      // equality, so arrays must hold the same values in the same order.
      if (!jsonEqual(current, next))
        fail('conflict', `superiors set different ${op} operators (${JSON.stringify(current)} vs ${JSON.stringify(next)})`, w);
      return current;
    case 'add':
    case 'superset_of':
      return union(current as unknown[], next as unknown[]);
    case 'one_of': {
      const merged = intersect(current as unknown[], next as unknown[]);
      if (merged.length === 0) fail('conflict', 'the one_of values have an empty intersection', w);
      return merged;
    }
    case 'subset_of':
      return intersect(current as unknown[], next as unknown[]); // may be []
    case 'essential':
      return current === true || next === true;
  }
}

function mergeValidated(superior: MetadataPolicy, subordinate: MetadataPolicy): MetadataPolicy {
  const out = clone(superior);
  for (const [entityType, params] of Object.entries(subordinate)) {
    const target = out[entityType];
    if (!target) {
      out[entityType] = clone(params);
      continue;
    }
    for (const [parameter, ops] of Object.entries(params)) {
      const where = { entityType, parameter };
      const current = target[parameter];
      if (!current) {
        target[parameter] = clone(ops);
        continue;
      }
      for (const [op, v] of Object.entries(ops)) {
        current[op] = Object.hasOwn(current, op) ? mergeOperator(op as StandardOperator, current[op], v, where) : clone(v);
      }
      checkCombinations(current, 'conflict', where);
    }
  }
  return out;
}

/**
 * Merges a subordinate's metadata policy into its superior's (the superior is the one issued
 * higher up in the chain). Both are validated first (MetadataPolicyError 'illegal'); an
 * operator value merge that is not allowed, or a merged parameter policy with a combination that
 * is not allowed, throws MetadataPolicyError 'conflict'. An empty object stands for "no policy".
 * The order of merged array values is not defined by the specification; here it is the
 * superior's values first.
 */
export function combinePolicies(
  superior: MetadataPolicy,
  subordinate: MetadataPolicy,
  criticalOperators: readonly string[] = [],
): MetadataPolicy {
  const sup = Object.keys(superior).length ? (validatePolicy(superior, criticalOperators), understood(superior)) : {};
  const sub = Object.keys(subordinate).length ? (validatePolicy(subordinate, criticalOperators), understood(subordinate)) : {};
  return mergeValidated(sup, sub);
}

/**
 * Resolves the metadata policy of a Trust Chain: the `metadata_policy` claims of its
 * Subordinate Statements, the one issued by the most superior entity first, down to the one
 * issued by the subject's Immediate Superior (§6.1.4.1). `criticalOperators` are the names
 * collected from all `metadata_policy_crit` claims of the chain.
 */
export function resolvePolicy(policiesFromAnchorDown: MetadataPolicy[], criticalOperators: readonly string[] = []): MetadataPolicy {
  checkCriticalOperators(criticalOperators);
  let current: MetadataPolicy = {};
  for (const policy of policiesFromAnchorDown) {
    validatePolicy(policy, criticalOperators);
    current = mergeValidated(current, understood(policy));
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// Application (§6.1.4.2)
// ---------------------------------------------------------------------------------------------

function applyParameter(md: Record<string, unknown>, parameter: string, pp: Record<string, unknown>, entityType: string): void {
  const isScope = parameter === SCOPE;
  let present = Object.hasOwn(md, parameter);
  let cur: unknown = present ? (isScope ? scopeArray(md[parameter]) : md[parameter]) : undefined;
  if (present && cur === null) fail('violation', 'metadata parameter is null', { entityType, parameter });

  for (const op of STANDARD_OPERATORS) {
    if (!Object.hasOwn(pp, op)) continue;
    const v = pp[op];
    const where = { entityType, parameter, operator: op };
    switch (op) {
      case 'value':
        if (v === null) {
          present = false; // "When the value of the operator is null, the metadata parameter MUST be removed."
          cur = undefined;
        } else {
          present = true;
          cur = clone(asOperands(parameter, v));
        }
        break;
      case 'add':
        if (!present) {
          present = true;
          cur = clone(v);
        } else {
          if (!Array.isArray(cur)) fail('violation', 'add requires an array parameter', where);
          cur = union(cur, v as unknown[]);
        }
        break;
      case 'default':
        if (!present) {
          present = true;
          cur = clone(asOperands(parameter, v));
        }
        break;
      case 'one_of':
        if (present) {
          const candidate = isScope && Array.isArray(cur) ? cur.join(' ') : cur;
          if (!isArrayElement(candidate)) fail('violation', 'one_of requires a string, number or object parameter', where);
          if (!contains(v as unknown[], candidate))
            fail('violation', `${JSON.stringify(candidate)} is not one of ${JSON.stringify(v)}`, where);
        }
        break;
      case 'subset_of':
        if (present) {
          if (!Array.isArray(cur)) fail('violation', 'subset_of requires an array parameter', where);
          cur = intersect(cur, v as unknown[]); // may become [] (§6.1.3.1.5)
        }
        break;
      case 'superset_of':
        if (present) {
          if (!Array.isArray(cur)) fail('violation', 'superset_of requires an array parameter', where);
          if (!isSubset(v as unknown[], cur))
            fail('violation', `${JSON.stringify(cur)} does not contain all of ${JSON.stringify(v)}`, where);
        }
        break;
      case 'essential':
        if (v === true && !present) fail('violation', 'essential parameter is missing', where);
        break;
    }
  }
  if (present) md[parameter] = isScope && Array.isArray(cur) ? cur.join(' ') : cur;
  else delete md[parameter];
}

/**
 * Applies a resolved metadata policy to metadata (entity type → parameters). Only entity types
 * present in the metadata are affected: a policy for an entity type the entity does not have adds
 * nothing. Operators are applied in the order value, add, default, one_of, subset_of,
 * superset_of, essential. Throws MetadataPolicyError 'violation' when the metadata does not comply
 * (§6.1.4.2: "the metadata MUST be regarded as broken and MUST NOT be used").
 */
export function applyPolicy(
  metadata: Record<string, Record<string, unknown>>,
  policy: MetadataPolicy,
): Record<string, Record<string, unknown>> {
  const out = clone(metadata);
  const effective = understood(policy);
  for (const [entityType, md] of Object.entries(out)) {
    const params = effective[entityType];
    if (!params) continue;
    if (!isPlainObject(md)) fail('violation', 'entity type metadata must be a JSON object', { entityType });
    for (const [parameter, pp] of Object.entries(params)) applyParameter(md, parameter, pp, entityType);
  }
  return out;
}
