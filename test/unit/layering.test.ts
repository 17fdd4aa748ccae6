import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The layers depend in one direction: oauth ← mcp, platform ← cli / vscode ← extension (platform: the Node
 * adapters the CLI and the extension share). src/oauth, src/mcp, src/platform, src/cli and src/vscode/model run
 * without VS Code (the CLI, the tests), so none of them may load 'vscode', neither directly
 * nor through a relative import of the VS Code adapters or src/extension; a layer never reaches one above it;
 * and src/oauth never touches the file system (the hosts inject storage). ESLint checks the direct static
 * form of the 'vscode' rule; this test covers every rule, and `require`, dynamic `import()`,
 * `import x = require()` and type imports too.
 */

const root = resolve(__dirname, '..', '..');
const pureLayers = ['src/oauth', 'src/mcp', 'src/platform', 'src/cli'];
const vscodeOnly = ['src/vscode', 'src/extension'];
const sourceExtensions = new Set(['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs']);

/** One layer's rule: the source folders it may not reach (but `except`) and the packages it may not load. */
interface LayerRule {
  readonly layer: string;
  readonly mayNotReach: readonly string[];
  readonly except?: readonly string[];
  readonly packages: readonly string[];
  readonly why: string;
}

const rules: readonly LayerRule[] = [
  {
    layer: 'src/oauth',
    mayNotReach: ['src/mcp', 'src/platform', 'src/cli', ...vscodeOnly],
    packages: ['vscode', 'fs'],
    why: 'the OAuth core depends on nothing above it, and never touches the file system',
  },
  {
    layer: 'src/mcp',
    mayNotReach: ['src/platform', 'src/cli', ...vscodeOnly],
    packages: ['vscode'],
    why: 'mcp sits on oauth only',
  },
  {
    layer: 'src/platform',
    mayNotReach: ['src/mcp', 'src/cli', ...vscodeOnly],
    packages: ['vscode'],
    why: 'the Node adapters the CLI and the extension share sit on the core only',
  },
  { layer: 'src/cli', mayNotReach: vscodeOnly, packages: ['vscode'], why: 'the CLI runs without VS Code' },
  {
    layer: 'src/vscode/model',
    mayNotReach: vscodeOnly,
    except: ['src/vscode/model'],
    packages: ['vscode'],
    why: "the model is the VS Code adapters' vscode-free part, tested in plain Node",
  },
  { layer: 'src/vscode', mayNotReach: ['src/extension'], packages: [], why: 'the composition root is on top' },
];

/** `vscode` is also `vscode/…`; `fs` is also `node:fs`, `fs/promises` and `node:fs/promises`. */
function loadsPackage(specifier: string, name: string): boolean {
  const bare = specifier.startsWith('node:') ? specifier.slice('node:'.length) : specifier;
  return bare === name || bare.startsWith(`${name}/`);
}

/** The repo-relative folder or file a relative specifier written in `fromFile` points at. */
function target(fromFile: string, specifier: string): string {
  return relative(root, resolve(root, dirname(fromFile), specifier))
    .split(sep)
    .join('/');
}

const within = (path: string, layer: string): boolean =>
  path === layer || path.startsWith(`${layer}/`) || path.startsWith(`${layer}.`);

/** The imports in one file (path relative to the repo root) that break `rule`. */
function findViolations(fromFile: string, text: string, rule: LayerRule): Violation[] {
  return moduleReferences(fromFile, text).filter(({ specifier }) => {
    if (!specifier.startsWith('.')) return rule.packages.some((name) => loadsPackage(specifier, name));
    const path = target(fromFile, specifier);
    return (
      rule.mayNotReach.some((layer) => within(path, layer)) && !(rule.except ?? []).some((layer) => within(path, layer))
    );
  });
}

/** The rule of the innermost layer `file` belongs to. */
function ruleFor(file: string): LayerRule | undefined {
  return [...rules].sort((a, b) => b.layer.length - a.layer.length).find((rule) => within(file, rule.layer));
}

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

/** The imports in one file of a vscode-free layer that would load VS Code. */
function findVscodeImports(fromFile: string, text: string): Violation[] {
  const vscodeFree: LayerRule = { layer: '', mayNotReach: vscodeOnly, packages: ['vscode'], why: '' };
  return findViolations(fromFile, text, vscodeFree);
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

  describe('the dependency order and the file system', () => {
    const caught: [string, string, string][] = [
      ['src/oauth/x.ts', `import { authorizedFetch } from '../mcp/authorizedFetch';`, 'oauth reaching mcp'],
      [
        'src/oauth/session/x.ts',
        `import type { FlowOptions } from '../../cli/args';`,
        'oauth reaching cli (types too)',
      ],
      ['src/oauth/x.ts', `import { parseServers } from '../vscode/model/serverConfig';`, 'oauth reaching the model'],
      ['src/oauth/x.ts', `import { readFile } from 'node:fs/promises';`, 'oauth loading node:fs/promises'],
      ['src/oauth/x.ts', `import * as fs from 'fs';`, 'oauth loading fs'],
      ['src/oauth/x.ts', `const fs = require('node:fs');`, 'oauth requiring node:fs'],
      ['src/oauth/x.ts', `void import('fs/promises');`, 'oauth importing fs/promises dynamically'],
      ['src/mcp/x.ts', `import { cliHost } from '../cli/cliHost';`, 'mcp reaching cli'],
      ['src/mcp/gateway/x.ts', `import { Settings } from '../../vscode/settings';`, 'mcp reaching vscode'],
      ['src/cli/x.ts', `import { slug } from '../vscode/model/serverConfig';`, 'cli reaching the VS Code adapters'],
      ['src/vscode/model/x.ts', `import * as vscode from 'vscode';`, 'the model loading vscode'],
      ['src/vscode/model/x.ts', `import { Settings } from '../settings';`, 'the model reaching the adapters'],
      ['src/vscode/model/x.ts', `import { activate } from '../../extension';`, 'the model reaching the extension'],
      ['src/vscode/x.ts', `import { activate } from '../extension';`, 'the adapters reaching the extension'],
    ];
    for (const [file, sample, what] of caught) {
      it(`catches ${what}`, () => {
        const rule = ruleFor(file)!;
        assert.equal(findViolations(file, sample, rule).length, 1, `${file}: ${sample}`);
      });
    }

    const allowed: [string, string, string][] = [
      ['src/oauth/x.ts', `import { join } from 'node:path'; import { quote } from './errors';`, 'oauth on node:path'],
      ['src/oauth/x.ts', `import x from 'fs-extra-lookalike'; import y from './fs';`, 'lookalikes of fs'],
      ['src/mcp/x.ts', `import { quote } from '../oauth/errors';`, 'mcp on oauth'],
      [
        'src/cli/x.ts',
        `import { connectToServer } from '../mcp/serverSession'; import 'node:fs';`,
        'cli on mcp and fs',
      ],
      ['src/vscode/model/x.ts', `import { parseServers } from './serverConfig';`, 'the model on itself'],
      ['src/vscode/model/x.ts', `import { quote } from '../../oauth/errors';`, 'the model on oauth'],
      ['src/vscode/x.ts', `import * as vscode from 'vscode'; import { slug } from './model/serverConfig';`, 'adapters'],
    ];
    for (const [file, sample, what] of allowed) {
      it(`allows ${what}`, () => {
        assert.deepEqual(findViolations(file, sample, ruleFor(file)!), []);
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

    for (const rule of rules) {
      it(`${rule.layer} reaches none of ${[...rule.mayNotReach, ...rule.packages].join(', ')} (${rule.why})`, () => {
        const files = sourceFiles(rule.layer).filter((file) => ruleFor(file) === rule);
        assert.ok(files.length > 0, `no source files under ${rule.layer}`);
        const violations = files.flatMap((file) =>
          findViolations(file, readFileSync(join(root, file), 'utf8'), rule).map(
            (v) => `${file}:${v.line}: ${v.form} ${JSON.stringify(v.specifier)}`,
          ),
        );
        assert.deepEqual(violations, [], `${rule.layer}: ${rule.why}:\n${violations.join('\n')}`);
      });
    }
  });
});
