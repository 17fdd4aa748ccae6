// The packaged VSIX (npm run package, or --vsix) and the lm-probe helper installed into a fresh code-server.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Step } from '../ui';

/** `npm run package` (scripts/package.mjs, the production build through vsce); returns the VSIX it wrote. */
function packageExtension(repo: string): string {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    scripts?: Record<string, string>;
  };
  if (!pkg.scripts?.package) throw new Error('package.json has no "package" script');
  const vsix = join(repo, `${pkg.name}-${pkg.version}.vsix`);
  rmSync(vsix, { force: true });
  const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(vsix))
    throw new Error(`npm run package failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return vsix;
}

/** Packs the test-only helper extension test/ui/lm-probe with vsce into `out`. */
function packProbe(repo: string, node24: string, out: string): string {
  const vsce = join(repo, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(node24, [vsce, 'package', '--no-dependencies', '--skip-license', '--out', out], {
    cwd: join(repo, 'test', 'ui', 'lm-probe'),
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.status !== 0 || !existsSync(out))
    throw new Error(`packing test/ui/lm-probe failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return out;
}

const step: Step = {
  key: 'install',
  title: (ui) =>
    `${ui.options.vsix ? 'the given VSIX' : 'the VSIX is packaged (npm run package) and'} installs into a fresh extensions folder`,
  needs: [],
  async run(ui) {
    let vsix = ui.options.vsix;
    if (!vsix) {
      const started = Date.now();
      vsix = packageExtension(ui.repo);
      ui.log(`packaged ${vsix} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    const packed = mkdtempSync(join(tmpdir(), 'mcp-oauth-lm-probe-'));
    try {
      const probe = packProbe(ui.repo, ui.node24, join(packed, 'lm-probe.vsix'));
      // Installs both (code-server --install-extension, which must report each), then starts code-server.
      await ui.start([vsix, probe]);
    } finally {
      rmSync(packed, { recursive: true, force: true });
    }
    const { extensions } = ui.cs.dirs;
    const folders = readdirSync(extensions);
    const ours = folders.find((f) => /^mcp-oauth\.mcp-oauth-\d/.test(f));
    if (!ours)
      throw new Error(`no mcp-oauth.mcp-oauth-<version> folder in the extensions folder: ${folders.join(', ')}`);
    const manifest = JSON.parse(readFileSync(join(extensions, ours, 'package.json'), 'utf8')) as {
      displayName: string;
      version: string;
    };
    for (const f of ['dist/extension.js', 'dist/core.js'])
      if (!existsSync(join(extensions, ours, f))) throw new Error(`the installed extension has no ${f}`);
    if (existsSync(join(extensions, ours, 'src'))) throw new Error('the installed extension ships src/');
    ui.log(`installed ${ours} (${manifest.displayName} ${manifest.version}) and the lm-probe helper`);
  },
};
export default step;
