export { FRAMEWORK_FILES, loadFrameworks } from './load.ts';
export type { Framework, FrameworkName, Technique } from './schema.ts';
export { FrameworkSchema } from './schema.ts';
export type { FrameworkIndex, Frameworks, FrameworkTag, TagFinding } from './tags.ts';
export { checkFrameworkTags, indexFramework, parseFrameworkTag } from './tags.ts';
