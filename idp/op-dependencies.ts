/**
 * What the OP's routes are given (op-app.ts builds it): oidc-provider, the entity's runtime, the
 * account stores and limits, the base registries, and — in a federation — mutual recognition.
 */
import type Provider from 'oidc-provider';
import type { EntityRuntime } from '../infra/entity-runtime.ts';
import type { FederationTrust } from '../federation/federation-trust.ts';
import type { Locale } from './i18n.ts';
import type { LoaLevel } from '../federation/loa.ts';
import type { NaturalPersonAccounts } from './accounts/natural-person-accounts.ts';
import type { LegalPersonAccounts } from './accounts/legal-person-accounts.ts';
import type { LoginThrottle } from './accounts/login-throttle.ts';
import type { OneTimeCodes } from './accounts/one-time-codes.ts';
import type { RecognizedAccounts, RecognizedKind } from './accounts/recognized-accounts.ts';
import type { ServicesClient } from './services-client.ts';
import type { CrossTierHops } from './login/cross-tier-hops.ts';
import type { Relocation } from './broker/relocation.ts';
import type { AccountDirectory } from './accounts/account-directory.ts';
import type { DataConsents } from './exchange/data-consents.ts';
import type { DatasetCatalogs } from './exchange/dataset-catalogs.ts';

/** The registry of homes: where an ID number or USCC is registered (asked city → province → national). */
export interface RegistryOfHomes {
  lookup(kind: RecognizedKind, identifier: string): Promise<string | null>;
  /** The register-once check: unavailable while this OP's host still delivers what a crash left. */
  lookupBeforeRegistration(kind: RecognizedKind, identifier: string): Promise<string | null>;
}

/** What an OP that takes part in mutual recognition has (every OP of a federation does). */
export interface RecognitionDependencies {
  login: CrossTierHops;
  /** Moving an account's home to another OP (by its administrator, or by the person). */
  relocation: Relocation;
  homes: RegistryOfHomes;
  /** Whom this OP trusts in the federation: only its brokers may name the home of a request (`home_hint`). */
  trust: FederationTrust;
  /** The OPs of the federation a person may have their account at (for the chooser). */
  platforms(): string[];
  /** The display name of a platform of the federation (its entity ID when unknown). */
  siteName(entityId: string, locale: Locale): string;
}

/** A hybrid-mode city portal whose people sign in on this OP's pages, in the city's name and colours. */
export interface CityPortal {
  code: string;
  name: { 'zh-CN': string; en: string };
  color?: string;
}

/** The OP's part in the data-sharing exchange: consents to `gov-id:data-access` details (docs/exchange.md). */
export interface ExchangeDependencies {
  consents: DataConsents;
  catalogs: DatasetCatalogs;
  directory: AccountDirectory;
}

export interface OpDependencies {
  provider: Provider;
  runtime: EntityRuntime;
  accounts: NaturalPersonAccounts;
  legalPersons: LegalPersonAccounts;
  throttle: LoginThrottle;
  otp: OneTimeCodes;
  services: ServicesClient;
  acrUris: Record<LoaLevel, string>;
  /** People and organizations whose home is elsewhere, linked here. */
  recognized: RecognizedAccounts;
  /** Absent on an OP outside any federation (it then knows its own accounts only). */
  recognition?: RecognitionDependencies;
  /**
   * Hybrid mode (统分): the portals of this province's cities, by client ID. Their people sign in
   * on this OP's pages, shown in the city's name.
   */
  cityPortals: ReadonlyMap<string, CityPortal>;
  /** Absent on an OP that issues no tokens for the federation's services entities. */
  exchange?: ExchangeDependencies;
}
