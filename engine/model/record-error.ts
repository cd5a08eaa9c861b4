import type { z } from 'zod';

/** Why one record was refused: the field (dotted path as sent) and the reason. */
export interface RecordError {
  field: string;
  message: string;
}

export function fieldPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  const joined = path.map((key) => (typeof key === 'number' ? `[${key}]` : String(key))).join('.');
  const full = prefix && joined ? `${prefix}.${joined}` : prefix || joined;
  return full.replace(/\.\[/g, '[') || '(record)';
}

export function fromZodIssues(issues: ReadonlyArray<z.core.$ZodIssue>, prefix = ''): RecordError[] {
  return issues.map((issue) => ({ field: fieldPath(issue.path, prefix), message: describeIssue(issue) }));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return 'is required';
  return issue.message;
}
