/**
 * Levels of assurance (real-name levels). `loa1` = real-name (L3), `loa2` = real-person (L4),
 * `loa3` = certificate or in-person proofing (L5). They travel as `acr` URIs taken from the
 * topology (or these defaults), so that a federation can name them as it prefers.
 */
export type LoaLevel = 'loa1' | 'loa2' | 'loa3';
export const LOA_LEVELS: LoaLevel[] = ['loa1', 'loa2', 'loa3'];

export const DEFAULT_ACR_URIS: Record<LoaLevel, string> = {
  loa1: 'urn:gov-id:loa:1',
  loa2: 'urn:gov-id:loa:2',
  loa3: 'urn:gov-id:loa:3',
};
