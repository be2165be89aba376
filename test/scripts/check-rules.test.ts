/** The rules check (scripts/check-rules.ts) on small fake trees, so that it is seen to fail. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRules, namedIn } from '../../scripts/check-rules.js';

const DOC = [
  '| rule | statement | enforced by | test |',
  '|---|---|---|---|',
  '| R1 | Same connection. | `src/reply.ts#ReplyHandle.reply` | `test/reply.test.ts`: "answers on its connection (R1)" |',
  '| R7a | Not taken. | `src/outbound.ts#notTaken` | `test/outbound.test.ts`: "submits again (R7a)" |',
].join('\n');

/** A test file holding one title; built so that this file's own source names no rule. */
const testFile = (title: string) => `describe('fake', () => { it('${title}', () => {}); });\n`;

const GOOD: Record<string, string> = {
  'docs/rules.md': DOC,
  'src/reply.ts':
    'export class ReplyHandle {\n  /** [R1] The only way to answer is bound to the arrival connection. */\n  reply() {}\n}\n',
  'src/outbound.ts': '// [R7a] 9091: the scheme took nothing.\nexport const notTaken = true;\n',
  'test/reply.test.ts': testFile('answers on its connection (R1)'),
  'test/outbound.test.ts': testFile('submits again (R7a)'),
};

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A tree of GOOD with `changes` applied (null deletes a file); returns its problems. */
function problemsOf(changes: Record<string, string | null> = {}): string[] {
  const root = mkdtempSync(join(tmpdir(), 'rules-'));
  roots.push(root);
  for (const [path, text] of Object.entries({ ...GOOD, ...changes })) {
    if (text === null) continue;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return checkRules(root).problems;
}

describe('the rules check', () => {
  it('passes a tree where every rule is tagged, listed and named by a test', () => {
    expect(problemsOf()).toEqual([]);
  });

  it('fails a rule without an enforcing tag, and a mention that is not a tag', () => {
    const problems = problemsOf({
      'src/outbound.ts': '// 9091: the scheme took nothing (R7a), see [R7a].\nexport const notTaken = true;\n',
    });
    expect(problems).toContain('R7a has no enforcing tag in src/ (a comment starting "[R7a] ...")');
    expect(problems.some((p) => p.startsWith('src/outbound.ts:1: [R7a] is not at the start of a comment'))).toBe(true);
  });

  it('fails a tag naming a rule docs/rules.md does not list, in src/ or simulators/', () => {
    const problems = problemsOf({ 'simulators/ci.ts': '// [R12] Something the spec never said.\n' });
    expect(problems).toEqual(['simulators/ci.ts:1: tag [R12] names no rule of docs/rules.md']);
  });

  it('fails a rule that no test title names, and a row whose title does not name its rule', () => {
    const problems = problemsOf({ 'test/outbound.test.ts': testFile('submits again') });
    expect(problems).toContain('R7a has no test under test/ whose describe/it title names it, like "... (R7a)"');
    expect(problems.some((p) => p.includes('no test file of the row has the title "submits again (R7a)"'))).toBe(true);
  });

  it('fails a row naming a file, a symbol or a test title that does not exist', () => {
    const missing = problemsOf({ 'src/reply.ts': null, 'src/replies.ts': GOOD['src/reply.ts']! });
    expect(missing).toContain('docs/rules.md:3 (R1): src/reply.ts does not exist');
    const renamed = problemsOf({
      'src/outbound.ts': '// [R7a] 9091: the scheme took nothing.\nexport const wasNotTaken = true;\n',
    });
    expect(renamed).toEqual(['docs/rules.md:4 (R7a): src/outbound.ts declares no notTaken (of notTaken)']);
  });

  it('fails without docs/rules.md, which is the list of rules', () => {
    expect(problemsOf({ 'docs/rules.md': null })).toEqual(['docs/rules.md is missing: it is the list of rules']);
  });

  it('reads the rules a title names, ranges included', () => {
    expect([...namedIn('inbound (R1-R4), not taken (R7a), owners (P2)')]).toEqual([
      'R1',
      'R2',
      'R3',
      'R4',
      'R7a',
      'P2',
    ]);
  });
});
