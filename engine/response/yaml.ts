import { Document, parse, parseAllDocuments, Scalar, visit } from 'yaml';
import { type PolicyOverlay, PolicyOverlaySchema } from './overlay.ts';

/** Whether a string reads back as itself, plain, under YAML 1.1 and 1.2 alike (`no` is false in 1.1). */
function plainEverywhere(text: string): boolean {
  try {
    return parse(text, { version: '1.1' }) === text && parse(text, { version: '1.2' }) === text;
  } catch {
    return false;
  }
}

/**
 * An overlay as YAML text, the form a reviewer applies: keys in the overlay's own order, no line folding,
 * and every string that any YAML reader (1.1 or 1.2) could take for something else (`yes`, `1.2`, `~`,
 * `2026-03-02`, `a: b`, `*`) double-quoted, so attacker text stays one string and cannot open a key or a
 * document. Pure: equal overlays give equal bytes. For ticket bodies, the suggestions sink and `suggest-policy`.
 */
export function renderOverlayYaml(overlay: PolicyOverlay): string {
  const document = new Document(overlay, { aliasDuplicateObjects: false });
  visit(document, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && !plainEverywhere(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return document.toString({ lineWidth: 0, indent: 2, indentSeq: true });
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
