import { clip, type TicketContent } from './content.ts';

/**
 * Atlassian Document Format, the body of Jira Cloud REST v3 descriptions and comments: a `doc` of version 1
 * whose content is block nodes. We use paragraphs and headings of plain text nodes (no marks, no links, no
 * mention nodes) and code blocks: alert values are only ever text, so none can become a link or a mention.
 */
export type AdfText = { type: 'text'; text: string; marks?: Array<{ type: 'code' }> };
export type AdfNode =
  | { type: 'paragraph'; content: AdfText[] }
  | { type: 'heading'; attrs: { level: number }; content: AdfText[] }
  | { type: 'codeBlock'; attrs: { language: string }; content: AdfText[] };
export interface AdfDocument {
  type: 'doc';
  version: 1;
  content: AdfNode[];
}

/** Jira's text fields hold at most 32,767 characters; the document's text is kept under that. */
export const JIRA_TEXT_MAX = 32_000;

export function adfDocument(content: TicketContent, intro: string, max = JIRA_TEXT_MAX): AdfDocument {
  const nodes: AdfNode[] = [
    paragraph(content.marker),
    paragraph(`${intro} Alert group `, { text: content.group.label, code: true }, '.'),
  ];
  let used = textLength(nodes);
  for (const section of content.sections) {
    const room = max - used - section.heading.length;
    let block: AdfNode;
    if (section.text.length <= room) block = codeBlock(section.text, section.language);
    else if (section.whole || room < 64) block = paragraph('(left out: the text size limit)');
    else block = codeBlock(clip(section.text, room), section.language);
    const added = [heading(section.heading), block];
    const size = textLength(added);
    if (used + size > max) break;
    nodes.push(...added);
    used += size;
  }
  return { type: 'doc', version: 1, content: nodes };
}

/** The text of the first paragraph: where our marker is. */
export function firstParagraphText(document: unknown): string | undefined {
  if (typeof document !== 'object' || document === null) return undefined;
  const first = (document as { content?: unknown }).content;
  if (!Array.isArray(first) || first.length === 0) return undefined;
  const node = first[0] as { type?: unknown; content?: unknown };
  if (node.type !== 'paragraph' || !Array.isArray(node.content)) return undefined;
  return node.content
    .map((text: { text?: unknown }) => (typeof text.text === 'string' ? text.text : ''))
    .join('');
}

type Run = string | { text: string; code: boolean };

function paragraph(...runs: Run[]): AdfNode {
  return {
    type: 'paragraph',
    content: runs
      .map((run) => (typeof run === 'string' ? { text: run, code: false } : run))
      .filter((run) => run.text !== '')
      .map((run) =>
        run.code
          ? { type: 'text', text: run.text, marks: [{ type: 'code' }] }
          : { type: 'text', text: run.text },
      ),
  };
}

function heading(text: string): AdfNode {
  return { type: 'heading', attrs: { level: 4 }, content: [{ type: 'text', text }] };
}

/** A text node may not be empty, so an empty block has no content. */
function codeBlock(text: string, language: string): AdfNode {
  return { type: 'codeBlock', attrs: { language }, content: text === '' ? [] : [{ type: 'text', text }] };
}

function textLength(nodes: readonly AdfNode[]): number {
  return nodes.reduce(
    (sum, node) => sum + node.content.reduce((size, text) => size + text.text.length, 0),
    0,
  );
}
