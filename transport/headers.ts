/** Headers the collector writes on every event record and the processor may read without parsing the value. */
export const RECORD_HEADERS = {
  sourceFormat: 'edr-source-format',
  schemaVersion: 'edr-schema-version',
  eventId: 'edr-event-id',
} as const;
