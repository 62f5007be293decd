import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, defined once. Registered at start-up (dev server flags, or the operator
 * service on a remote cluster), so jobs can be filtered in the Web UI and with
 * `temporal workflow list --query "SophiaPhase = 'REVIEW'"`.
 */
export const SEARCH_ATTRIBUTES = {
  taskKind: defineSearchAttributeKey('SophiaTaskKind', SearchAttributeType.KEYWORD),
  project: defineSearchAttributeKey('SophiaProject', SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey('SophiaPhase', SearchAttributeType.KEYWORD),
  iteration: defineSearchAttributeKey('SophiaIteration', SearchAttributeType.INT),
  outcome: defineSearchAttributeKey('SophiaOutcome', SearchAttributeType.KEYWORD),
  language: defineSearchAttributeKey('SophiaLanguage', SearchAttributeType.KEYWORD),
  /** The tenant a job, schedule run or index run belongs to; every API read and action checks it. */
  tenant: defineSearchAttributeKey('SophiaTenant', SearchAttributeType.KEYWORD),
} as const;

export const SEARCH_ATTRIBUTE_KEYS = Object.values(SEARCH_ATTRIBUTES);

/** `Name=Type` pairs as the Temporal CLI's `--search-attribute` flag wants them. */
export function searchAttributeCliArgs(): string[] {
  const cliType: Record<string, string> = {
    [SearchAttributeType.KEYWORD]: 'Keyword',
    [SearchAttributeType.INT]: 'Int',
    [SearchAttributeType.TEXT]: 'Text',
    [SearchAttributeType.BOOL]: 'Bool',
    [SearchAttributeType.DOUBLE]: 'Double',
    [SearchAttributeType.DATETIME]: 'Datetime',
    [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  };
  return SEARCH_ATTRIBUTE_KEYS.flatMap((key) => ['--search-attribute', `${key.name}=${cliType[key.type]}`]);
}
