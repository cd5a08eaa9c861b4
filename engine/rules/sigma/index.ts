/** Sigma rules and correlations, lowered into our rule form (see lower.ts); the table is in docs/sigma.md. */
export type { GroupPart } from './aliases.ts';
export { aliasGroupKey } from './aliases.ts';
export { KEYWORD_FIELDS, SIGMA_CATEGORIES, SIGMA_PRODUCTS, SIGMA_TAXONOMY_FIELDS } from './fields.ts';
export type { LoweredSigmaRule, SigmaDocument, SigmaMetadata, SigmaOptions } from './lower.ts';
export { lowerSigma, ourTag } from './lower.ts';
export { isSigmaDocument } from './schema.ts';
