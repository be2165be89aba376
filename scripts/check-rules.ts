/**
 * `npm run rules`: every rule of the two contracts is enforced somewhere, tagged there, listed in
 * docs/rules.md and proved by a test that names it.
 *
 * The project ships no copy of the specs, so docs/rules.md is the list of rules: a rule is a
 * table row whose first cell is its id (`R7`, `R7a`, `P3`). The check fails when
 * - a rule has no tag in src/: a comment that starts with the id in brackets, `// [R7] ...`,
 *   `/** [R7] ... *\/` or a JSDoc line ` * [R7] ...`, then what is enforced there;
 * - a tag in src/ or simulators/ names a rule docs/rules.md does not list, or a rule id in
 *   brackets appears inside a comment rather than at its start (not a tag, so not counted);
 * - no describe/it/test title under test/ names the rule (`... (R7)`, `(R1-R4)` counts for each);
 * - a row of docs/rules.md names a file that does not exist, a symbol that file does not
 *   declare (`src/scheme/pool.ts#SchemePool.submit`), or a test title that file does not hold.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A rule id: R1..R11 with sub-rules like R7a (scheme link), P1.. (participant link). */
const RULE_ID = /^(?:R\d+[a-z]?|P\d+)$/;
/** A tag: the id in brackets first in a comment, then text. */
const TAG = /(?:\/\/|\/\*\*?|^\s*\*)\s*\[((?:R|P)\d+[a-z]?)\]\s+\S/;
/** A bracketed id anywhere on a line; one that is not a tag is refused. */
const BRACKETED = /\[((?:R|P)\d+[a-z]?)\]/g;
/** A test title: describe/it/test (with .each, .skip, .skipIf(...)...) and its string literal. */
const TITLE = /\b(?:describe|it|test)(?:\.\w+(?:\([^)]*\))?)*\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g;
/** An id in a title, or a range of them, `R1-R4`. */
const NAMED = /\b(R|P)(\d+)([a-z]?)(?:-\1(\d+))?\b/g;
/** In docs/rules.md: `path#Symbol.member`, `path`, and a test title in double quotes. */
const CODE_SPAN = /`([^`]+)`/g;
const QUOTED = /"([^"]+)"/g;

export interface RulesReport {
  rules: string[];
  problems: string[];
}

interface Row {
  id: string;
  line: number;
  cells: string[];
}

/** Checks the tree under `root`; never throws for what it finds, only lists it. */
export function checkRules(root: string): RulesReport {
  const problems: string[] = [];
  const docPath = join(root, 'docs', 'rules.md');
  if (!existsSync(docPath)) return { rules: [], problems: ['docs/rules.md is missing: it is the list of rules'] };
  const rows = ruleRows(readFileSync(docPath, 'utf8'));
  const rules = [...new Set(rows.map((r) => r.id))];
  for (const id of rules.filter((id) => rows.filter((r) => r.id === id).length > 1))
    problems.push(`docs/rules.md lists ${id} more than once`);
  if (rules.length === 0)
    problems.push('docs/rules.md lists no rule (a table row whose first cell is an id like R7 or P3)');

  const tagged = new Set<string>();
  for (const dir of ['src', 'simulators']) {
    for (const file of sources(root, dir)) {
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .forEach((text, i) => {
          const tag = TAG.exec(text)?.[1];
          if (tag !== undefined) {
            if (!rules.includes(tag)) problems.push(`${file}:${i + 1}: tag [${tag}] names no rule of docs/rules.md`);
            else if (dir === 'src') tagged.add(tag);
          }
          for (const m of text.matchAll(BRACKETED)) {
            if (m[1] !== tag)
              problems.push(
                `${file}:${i + 1}: [${m[1]}] is not at the start of a comment, so it is not a tag; write "// [${m[1]}] what is enforced here" or drop the brackets`,
              );
          }
        });
    }
  }
  for (const id of rules.filter((id) => !tagged.has(id)))
    problems.push(`${id} has no enforcing tag in src/ (a comment starting "[${id}] ...")`);

  const titles = sources(root, 'test').flatMap((file) =>
    titlesOf(readFileSync(join(root, file), 'utf8')).map((title) => ({ file, title })),
  );
  for (const id of rules.filter((id) => !titles.some((t) => namedIn(t.title).has(id))))
    problems.push(`${id} has no test under test/ whose describe/it title names it, like "... (${id})"`);

  for (const row of rows) problems.push(...rowProblems(root, row));
  return { rules, problems };
}

/** Table rows of docs/rules.md whose first cell is a rule id. */
function ruleRows(doc: string): Row[] {
  return doc.split('\n').flatMap((text, i) => {
    if (!text.trimStart().startsWith('|')) return [];
    const cells = text
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const id = cells[0] ?? '';
    return RULE_ID.test(id) ? [{ id, line: i + 1, cells }] : [];
  });
}

/** A row names files (`path`, `path#Symbol`) and, after a test file, the titles it holds ("..."). */
function rowProblems(root: string, row: Row): string[] {
  const problems: string[] = [];
  const at = `docs/rules.md:${row.line} (${row.id})`;
  const spans = row.cells.slice(2).flatMap((c) => [...c.matchAll(CODE_SPAN)].map((m) => m[1]!));
  const tests = spans.filter((s) => s.startsWith('test/'));
  if (tests.length === 0) problems.push(`${at}: names no test file`);
  for (const span of spans) {
    const [path, symbol] = span.split('#') as [string, string | undefined];
    if (!/^(src|simulators|test)\//.test(path)) continue;
    if (!existsSync(join(root, path))) {
      problems.push(`${at}: ${path} does not exist`);
      continue;
    }
    if (symbol === undefined) continue;
    const text = readFileSync(join(root, path), 'utf8');
    for (const part of symbol.split('.')) {
      if (!new RegExp(`\\b${part.replace(/[^\w$]/g, '')}\\b`).test(text))
        problems.push(`${at}: ${path} declares no ${part} (of ${symbol})`);
    }
  }
  const lastCell = row.cells[row.cells.length - 1] ?? '';
  const quoted = [...lastCell.matchAll(QUOTED)].map((m) => m[1]!);
  if (quoted.length === 0) problems.push(`${at}: names no test title ("...")`);
  const held = tests
    .filter((t) => existsSync(join(root, t)))
    .flatMap((t) => titlesOf(readFileSync(join(root, t), 'utf8')));
  for (const title of quoted) {
    if (!held.includes(title)) problems.push(`${at}: no test file of the row has the title "${title}"`);
    else if (!namedIn(title).has(row.id)) problems.push(`${at}: the title "${title}" does not name ${row.id}`);
  }
  return problems;
}

function titlesOf(text: string): string[] {
  return [...text.matchAll(TITLE)].map((m) => m[2]!.replace(/\\(.)/g, '$1'));
}

/** The rule ids a title names; a range `R1-R4` names each rule from R1 to R4. */
export function namedIn(title: string): Set<string> {
  const ids = new Set<string>();
  for (const m of title.matchAll(NAMED)) {
    const [, kind, from, sub, to] = m;
    if (to === undefined) ids.add(`${kind}${from}${sub}`);
    else for (let n = Number(from); n <= Number(to); n++) ids.add(`${kind}${n}`);
  }
  return ids;
}

/** TypeScript files under `dir`, relative to `root`. */
function sources(root: string, dir: string): string[] {
  const base = join(root, dir);
  if (!existsSync(base)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push(relative(root, path));
    }
  };
  walk(base);
  return out.sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { rules, problems } = checkRules(root);
  if (problems.length > 0) {
    console.error(
      `rules: ${problems.length} problem(s) with docs/rules.md, the [Rn]/[Pn] tags in src/ or the test titles:`,
    );
    for (const p of problems) console.error(`  - ${p}`);
    process.exit(1);
  }
  console.log(`rules: ${rules.length} rules, each tagged in src/, listed in docs/rules.md and named by a test`);
}
