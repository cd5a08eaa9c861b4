import { describe, expect, it } from 'vitest';
import { regexSafetyProblem } from './regex-safety.ts';

describe('regexSafetyProblem', () => {
  it.each([
    '(a+)+',
    '(a*)*b',
    '(\\w+\\s?)*$',
    '(a|a)*',
    '(a|ab)+c',
    '(.*a){2,}',
    '^(([a-z])+.)+[A-Z]([a-z])+$',
    '(\\d+)\\1',
  ])('refuses %s', (pattern) => expect(regexSafetyProblem(pattern)).toMatch(/unsafe/));

  it.each([
    '^al',
    '\\d+\\.\\d+',
    '.*foo.*bar',
    '(?:ab|cd)+',
    '(?:-\\S+\\s+)?addr',
    'a{2,5}',
    '[a-z]+@[a-z]+\\.com',
    '(ab){3}',
  ])('accepts %s', (pattern) => expect(regexSafetyProblem(pattern)).toBeUndefined());

  it('reports syntax errors', () => expect(regexSafetyProblem('(')).toMatch(/invalid regular expression/));
});
