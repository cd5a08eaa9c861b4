import { clip, type Section, type TicketContent } from './content.ts';

/** GitHub refuses an issue or comment body longer than this (characters). */
export const GITHUB_BODY_MAX = 65_536;

/**
 * A GitHub issue body or comment: our own lines in markdown, every alert value inside a fenced code block
 * whose fence is longer than any backtick run in it, so no value can close the block, link, mention
 * (@user), reference (#1) or inject HTML. The result is at most `max` characters: sections are cut to the
 * room left, and a section that must stay whole (the suggested policy) is replaced by a note instead.
 */
export function markdownBody(content: TicketContent, intro: string, max = GITHUB_BODY_MAX): string {
  const head = `<!-- ${content.marker} -->\n${intro} Alert group \`${content.group.label}\`.\n`;
  let body = head;
  for (const section of content.sections) {
    const room = max - body.length;
    const rendered = renderSection(section, room);
    if (rendered === undefined) break;
    body += rendered;
  }
  return body;
}

const OMITTED = (heading: string) => `\n#### ${heading}\n\n_(left out: the body size limit)_\n`;

function renderSection(section: Section, room: number): string | undefined {
  const full = `\n#### ${section.heading}\n\n${fenced(section.text, section.language)}\n`;
  if (full.length <= room) return full;
  const note = OMITTED(section.heading);
  if (section.whole) return note.length <= room ? note : undefined;
  // Shrinking the text can only shorten the fence: the overhead measured on the full text is an upper bound.
  const overhead = full.length - section.text.length;
  const fits = room - overhead;
  if (fits < 64) return note.length <= room ? note : undefined;
  return `\n#### ${section.heading}\n\n${fenced(clip(section.text, fits), section.language)}\n`;
}

/** A fenced code block that the text cannot end: its fence is longer than the longest backtick run in it. */
export function fenced(text: string, language = ''): string {
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (match) => match[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text}\n${fence}`;
}
