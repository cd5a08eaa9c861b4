import { parseAllDocuments, stringify } from 'yaml';
import { type PolicyOverlay, PolicyOverlaySchema } from './overlay.ts';

/**
 * An overlay as YAML text, the form a reviewer applies: keys in the overlay's own order, no line folding,
 * strings quoted where YAML needs it (attacker text cannot open a new key or document). Pure: equal overlays
 * give equal bytes. For ticket bodies, the suggestions sink and `suggest-policy`.
 */
export function renderOverlayYaml(overlay: PolicyOverlay): string {
  return stringify(overlay, { lineWidth: 0, indent: 2, indentSeq: true, aliasDuplicateObjects: false });
}

/** Several overlays as one YAML stream, `---` between documents. */
export function renderOverlaysYaml(overlays: readonly PolicyOverlay[]): string {
  return overlays.map(renderOverlayYaml).join('---\n');
}

/** Reads overlays back from YAML text (a suggestions file); each document must be one this pipeline writes. */
export function parseOverlaysYaml(text: string): { overlays: PolicyOverlay[]; problems: string[] } {
  const overlays: PolicyOverlay[] = [];
  const problems: string[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    if (document.errors.length > 0) {
      problems.push(`document ${index + 1}: ${document.errors[0]!.message}`);
      return;
    }
    const parsed = PolicyOverlaySchema.safeParse(document.toJS());
    if (parsed.success) overlays.push(parsed.data);
    else problems.push(`document ${index + 1}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  });
  return { overlays, problems };
}

function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  return `${issue.path.map(String).join('.') || '(document)'}: ${issue.message}`;
}
