/**
 * Module resolution hooks for `npm run bench` (registered by use-build.mjs): every module of the
 * locker (kiosk/**, controller/**) resolves to its production build in dist/ (what `npm run
 * build` emits with tsc and the service runs), not to the TypeScript source that tsx would
 * transform on the fly. So the benches that run the locker's code in their own process measure
 * the code production runs. Bench and test helper files still load through tsx.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const LOCKER_SOURCE = /^(kiosk|controller)\/(.+)\.ts$/;

/** dist/'s file for a locker source file under `repo` (a path ending in /), or null for any other file. */
export function builtFileOf(repo, path) {
  if (!path.startsWith(repo)) return null;
  const match = LOCKER_SOURCE.exec(path.slice(repo.length));
  return match ? `${repo}dist/${match[1]}/${match[2]}.js` : null;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith('file:')) return resolved;
  const built = builtFileOf(REPO, fileURLToPath(resolved.url));
  if (built === null) return resolved;
  if (!existsSync(built)) throw new Error(`bench: ${built} is missing: run npm run build (npm run bench builds first)`);
  return { url: pathToFileURL(built).href, format: 'module', shortCircuit: true };
}
