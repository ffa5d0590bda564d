import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';

/**
 * Issue #14: the ports, the options and the error codes are the surface an engineer reads first, so
 * each carries TSDoc. Checked from the source with the compiler's parser (no type-checking needed):
 *
 * - in `src/ports/*.ts`, `src/domain/errors.ts`, `src/config.ts` and every file of `src/` that
 *   exports a type named `…Options`: every exported declaration;
 * - every member of the exported interfaces of the ports, of the `…Options` types and of `Config`;
 * - every code of `ERROR_CODES`: its sentence in `ERROR_MEANINGS` (the table the reference docs print).
 *
 * A doc is a `/** … *\/` comment right above the node (no blank line between) with a description,
 * not only tags: a file's header comment above its first declaration does not count.
 */
const SRC = path.join(PROJECT_ROOT, 'src');

interface Subject {
  /** `file:line name`, what the failure lists. */
  label: string;
  documented: boolean;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** The description of the JSDoc comment that ends right above `node`, or undefined when there is none. */
function docOf(node: ts.Node, source: ts.SourceFile): string | undefined {
  const text = source.text;
  // Line comments between the doc and the node (a note on the implementation) leave it the node's doc, as in the compiler.
  const comment = ts
    .getLeadingCommentRanges(text, node.getFullStart())
    ?.filter((range) => range.kind === ts.SyntaxKind.MultiLineCommentTrivia)
    .at(-1);
  if (!comment || !text.startsWith('/**', comment.pos)) return undefined;
  // A blank line between the comment and the node: it belongs to something else (a file header).
  if (/\n[ \t]*\r?\n/.test(text.slice(comment.end, node.getStart(source)))) return undefined;
  const body = text
    .slice(comment.pos + 3, comment.end - 2)
    .split('\n')
    .map((line) => line.replace(/^\s*\*?\s?/, ''))
    .join('\n');
  const description = body.split(/(?:^|\n)\s*@/)[0].trim();
  return description === '' ? undefined : description;
}

const isExported = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

const nameOf = (node: ts.Node): string => {
  const name = (node as { name?: ts.Node }).name;
  if (!name) return ts.SyntaxKind[node.kind];
  return ts.isIdentifier(name) || ts.isStringLiteral(name) ? name.text : name.getText();
};

const exportsOptionsType = (source: ts.SourceFile): boolean =>
  source.statements.some((s) => (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) && isExported(s) && s.name.text.endsWith('Options'));

/** Members whose docs are checked: those of an interface, or of the object literals an `…Options` alias is made of. */
function membersOf(declaration: ts.InterfaceDeclaration | ts.TypeAliasDeclaration): readonly ts.TypeElement[] {
  if (ts.isInterfaceDeclaration(declaration)) return declaration.members;
  const literals: ts.TypeLiteralNode[] = [];
  const collect = (type: ts.TypeNode) => {
    if (ts.isTypeLiteralNode(type)) literals.push(type);
    else if (ts.isIntersectionTypeNode(type) || ts.isUnionTypeNode(type)) type.types.forEach(collect);
    else if (ts.isParenthesizedTypeNode(type)) collect(type.type);
  };
  collect(declaration.type);
  return literals.flatMap((literal) => literal.members);
}

/** What the checks cover in one file. */
function subjectsOf(file: string, membersChecked: (name: string) => boolean): Subject[] {
  const source = parse(file);
  const where = (node: ts.Node) => `${path.relative(PROJECT_ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const subjects: Subject[] = [];
  const seen = new Set<string>();
  for (const statement of source.statements) {
    if (!isExported(statement)) continue;
    if (ts.isVariableStatement(statement)) {
      // The comment sits on the statement: `/** … */ export const a = …;`
      const documented = docOf(statement, source) !== undefined;
      for (const declaration of statement.declarationList.declarations) subjects.push({ label: `${where(declaration)} ${nameOf(declaration)}`, documented });
      continue;
    }
    const name = nameOf(statement);
    // Overloads: the first signature carries the doc.
    if (seen.has(name)) continue;
    seen.add(name);
    subjects.push({ label: `${where(statement)} ${name}`, documented: docOf(statement, source) !== undefined });
    const withMembers = ts.isInterfaceDeclaration(statement) || (ts.isTypeAliasDeclaration(statement) && name.endsWith('Options'));
    if (withMembers && membersChecked(name)) {
      const seenMembers = new Set<string>();
      for (const member of membersOf(statement)) {
        const memberName = nameOf(member);
        if (seenMembers.has(memberName)) continue;
        seenMembers.add(memberName);
        subjects.push({ label: `${where(member)} ${name}.${memberName}`, documented: docOf(member, source) !== undefined });
      }
    }
  }
  return subjects;
}

/** Every code of `ERROR_CODES` with whether `ERROR_MEANINGS` gives it a sentence, read from the source. */
function errorCodeSubjects(): Subject[] {
  const file = path.join(SRC, 'domain', 'errors.ts');
  const source = parse(file);
  const initializerOf = (name: string): ts.Expression => {
    for (const statement of source.statements)
      if (ts.isVariableStatement(statement))
        for (const declaration of statement.declarationList.declarations)
          if (ts.isIdentifier(declaration.name) && declaration.name.text === name && declaration.initializer) return declaration.initializer;
    throw new Error(`${name} not found in ${file}`);
  };
  const unwrap = (expression: ts.Expression): ts.Expression =>
    ts.isAsExpression(expression) || ts.isSatisfiesExpression(expression) || ts.isParenthesizedExpression(expression)
      ? unwrap(expression.expression)
      : expression;
  const codes = unwrap(initializerOf('ERROR_CODES'));
  const meanings = unwrap(initializerOf('ERROR_MEANINGS'));
  if (!ts.isArrayLiteralExpression(codes) || !ts.isObjectLiteralExpression(meanings))
    throw new Error('ERROR_CODES is no array literal or ERROR_MEANINGS no object literal');
  const sentences = new Map<string, string>();
  for (const property of meanings.properties)
    if (ts.isPropertyAssignment(property) && ts.isStringLiteralLike(property.initializer)) sentences.set(nameOf(property), property.initializer.text.trim());
  return codes.elements
    .filter(ts.isStringLiteral)
    .map((code) => ({ label: `ERROR_MEANINGS.${code.text}`, documented: (sentences.get(code.text) ?? '') !== '' }));
}

function allSubjects(): Subject[] {
  const ports = readdirSync(path.join(SRC, 'ports'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(SRC, 'ports', name));
  const always = new Set([...ports, path.join(SRC, 'domain', 'errors.ts'), path.join(SRC, 'config.ts')]);
  const withOptions = filesUnder(SRC).filter((file) => !always.has(file) && exportsOptionsType(parse(file)));
  const isPort = (file: string) => path.dirname(file) === path.join(SRC, 'ports');
  return [
    ...[...always, ...withOptions].flatMap((file) => {
      const portFile = isPort(file);
      return subjectsOf(file, (name) => portFile || name.endsWith('Options') || name === 'Config');
    }),
    ...errorCodeSubjects(),
  ];
}

describe('TSDoc coverage (issue #14)', () => {
  const subjects = allSubjects();

  it('finds what it checks (a parser that sees nothing passes anything)', () => {
    const labels = subjects.map((s) => s.label);
    expect(labels.some((l) => l.endsWith(' UnitOfWork.transaction'))).toBe(true);
    expect(labels.some((l) => l.endsWith(' TracingOptions.otlpTracesUrl'))).toBe(true);
    expect(labels.some((l) => l.endsWith(' Config.databaseUrl'))).toBe(true);
    expect(labels).toContain('ERROR_MEANINGS.PRECONDITION_FAILED');
  });

  it('documents every exported port, option and error code', () => {
    const undocumented = subjects.filter((s) => !s.documented).map((s) => s.label);
    expect(undocumented, `${subjects.length - undocumented.length}/${subjects.length} documented; missing:\n${undocumented.join('\n')}`).toEqual([]);
  });

  it('tells a declaration doc from a file header and from tags alone', () => {
    const source = ts.createSourceFile(
      'x.ts',
      '/** Header. */\n\nexport interface A {}\n/** @default 1 */\nexport const b = 1;\n/** Real. */\n// a note\nexport const c = 2;\n/** Stale. */\n\n// a note\nexport const d = 3;',
      ts.ScriptTarget.Latest,
      true,
    );
    expect(source.statements.map((s) => docOf(s, source))).toEqual([undefined, undefined, 'Real.', undefined]);
  });
});
