import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * src/oauth, src/mcp and src/cli run without VS Code (the CLI, the tests), so none of them may load 'vscode',
 * neither directly nor through a relative import of src/vscode or src/extension. ESLint checks the direct
 * static form; this test also covers `require`, dynamic `import()`, `import x = require()` and type imports.
 */

const root = resolve(__dirname, '..', '..');
const pureLayers = ['src/oauth', 'src/mcp', 'src/cli'];
const vscodeOnly = ['src/vscode', 'src/extension'];
const sourceExtensions = new Set(['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs']);

interface Violation {
  readonly line: number;
  readonly specifier: string;
  readonly form: string;
}

/** Every module specifier in `text`, with the syntax that loads it. Comments and strings are not imports. */
function moduleReferences(fileName: string, text: string): { line: number; specifier: string; form: string }[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const found: { line: number; specifier: string; form: string }[] = [];
  const add = (node: ts.Node, specifier: ts.Node | undefined, form: string): void => {
    if (specifier && (ts.isStringLiteral(specifier) || ts.isNoSubstitutionTemplateLiteral(specifier))) {
      found.push({
        line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1,
        specifier: specifier.text,
        form,
      });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.importClause?.isTypeOnly ? 'import type' : 'import');
    } else if (ts.isExportDeclaration(node)) {
      add(node, node.moduleSpecifier, 'export from');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, 'import = require');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, 'import() type');
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword) {
        add(node, node.arguments[0], 'dynamic import');
      } else if (isRequire(callee)) {
        add(node, node.arguments[0], 'require');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** `require(…)`, `module.require(…)` and `require.resolve(…)`. */
function isRequire(callee: ts.Expression): boolean {
  if (ts.isIdentifier(callee)) return callee.text === 'require';
  return (
    ts.isPropertyAccessExpression(callee) &&
    ((ts.isIdentifier(callee.expression) && callee.expression.text === 'module' && callee.name.text === 'require') ||
      (ts.isIdentifier(callee.expression) && callee.expression.text === 'require' && callee.name.text === 'resolve'))
  );
}

/** Whether a specifier written in `fromFile` (a path relative to the repo root) reaches VS Code. */
function reachesVscode(fromFile: string, specifier: string): boolean {
  if (specifier === 'vscode' || specifier.startsWith('vscode/')) return true;
  if (!specifier.startsWith('.')) return false;
  const target = relative(root, resolve(root, dirname(fromFile), specifier))
    .split(sep)
    .join('/');
  return vscodeOnly.some(
    (layer) => target === layer || target.startsWith(`${layer}/`) || target.startsWith(`${layer}.`),
  );
}

/** The imports in one file (path relative to the repo root) that would load VS Code. */
function findVscodeImports(fromFile: string, text: string): Violation[] {
  return moduleReferences(fromFile, text).filter((ref) => reachesVscode(fromFile, ref.specifier));
}

function sourceFiles(dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && sourceExtensions.has(extname(entry.name)) && !entry.name.endsWith('.d.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

describe('layering', () => {
  describe('the detector', () => {
    const catches: [string, string][] = [
      ['a static import', `import * as vscode from 'vscode';`],
      ['a named import', `import { window } from "vscode";`],
      ['a side-effect import', `import 'vscode';`],
      ['a type-only import', `import type { Uri } from 'vscode';`],
      ['an inline type import', `import { type Uri } from 'vscode';`],
      ['a re-export', `export { window } from 'vscode';`],
      ['a type re-export', `export type { Uri } from 'vscode';`],
      ['a star re-export', `export * from 'vscode';`],
      ['a dynamic import', `async function f() { return await import('vscode'); }`],
      ['a dynamic import with a template literal', 'const m = import(`vscode`);'],
      ['a require', `const vscode = require('vscode');`],
      ['a destructured require', `const { window } = require("vscode");`],
      ['a module.require', `const vscode = module.require('vscode');`],
      ['a require.resolve', `const where = require.resolve('vscode');`],
      ['an import-equals require', `import vscode = require('vscode');`],
      ['an import() type', `let uri: import('vscode').Uri;`],
      ['a typeof import() type', `type V = typeof import('vscode');`],
      ['a subpath', `import x from 'vscode/package.json';`],
      ['a multi-line import', `import {\n  window,\n  commands,\n} from 'vscode';`],
      ['a relative import of src/vscode', `import { OutputChannelLogger } from '../vscode/log';`],
      ['a relative import of src/vscode with an extension', `import { OutputChannelLogger } from '../vscode/log.ts';`],
      ['a relative import of the folder src/vscode', `import * as adapters from '../vscode';`],
      ['a relative import of src/extension', `import { activate } from '../extension';`],
      ['a dynamic relative import of src/vscode', `void import('../vscode/log');`],
    ];
    for (const [form, sample] of catches) {
      it(`catches ${form}`, () => {
        const found = findVscodeImports('src/oauth/sample.ts', sample);
        assert.equal(
          found.length,
          1,
          `expected one violation in ${JSON.stringify(sample)}, got ${JSON.stringify(found)}`,
        );
      });
    }

    it('reports the line of each violation', () => {
      const sample = `import { a } from './a';\n\nimport type { Uri } from 'vscode';\nconst v = require('vscode');\n`;
      assert.deepEqual(
        findVscodeImports('src/mcp/sample.ts', sample).map((v) => [v.line, v.form]),
        [
          [3, 'import type'],
          [4, 'require'],
        ],
      );
    });

    const ignores: [string, string][] = [
      ['a comment', `// import * as vscode from 'vscode';\n/* require('vscode') */`],
      ['a string', `const s = "import 'vscode'"; const t = 'vscode';`],
      [
        'a lookalike package',
        `import x from 'vscode-uri'; import y from '@vscode/test-electron'; require('vscode-jsonrpc');`,
      ],
      ['a sibling in the core', `import { quote } from './errors'; import type { Logger } from '../oauth/logger';`],
      ['a lookalike relative path', `import { x } from '../vscodeish/a'; import { y } from './vscode';`],
      ['a call of another function', `load('vscode'); obj.require('vscode');`],
      ['a module declaration', `declare module 'vscode' {}`],
    ];
    for (const [what, sample] of ignores) {
      it(`ignores ${what}`, () => {
        assert.deepEqual(findVscodeImports('src/oauth/sample.ts', sample), []);
      });
    }
  });

  describe('the source tree', () => {
    it('finds the pure layers to check', () => {
      const files = pureLayers.flatMap(sourceFiles);
      assert.ok(files.length > 0, `no source files found under ${pureLayers.join(', ')}`);
    });

    for (const layer of pureLayers) {
      it(`${layer} does not import vscode, src/vscode or src/extension`, () => {
        const violations = sourceFiles(layer).flatMap((file) =>
          findVscodeImports(file, readFileSync(join(root, file), 'utf8')).map(
            (v) => `${file}:${v.line}: ${v.form} ${JSON.stringify(v.specifier)}`,
          ),
        );
        assert.deepEqual(violations, [], `vscode-free layer imports VS Code:\n${violations.join('\n')}`);
      });
    }
  });
});
