// `npm start`: the product on its embedded default. Builds, then runs the demo peers under Node >= 22
// (installed from the npm registry on first use) and prints how to sign in.
import { spawn, spawnSync } from 'node:child_process';
import { ensureNode24 } from './node24.mjs';

const node = ensureNode24();
const build = spawnSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const demo = spawn(node, ['--import', 'tsx', 'scripts/demo.ts'], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => demo.kill(signal));
demo.on('exit', (code) => process.exit(code ?? 0));
