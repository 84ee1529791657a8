/**
 * The test processes load TypeScript through our loader only (test/README.md): tap's own
 * TypeScript plugin (ts-node) costs each of the ~140 processes over a second of CPU. It comes
 * back when tap runs with the build a fresh install ships; `npm test` rebuilds it first
 * (test/helpers/tap-plugins.mjs), a bare `npx tap` on a fresh install does not.
 */
import t from 'tap';

const imports = process.execArgv.filter((arg) => arg.startsWith('--import'));

t.ok(
  imports.some((arg) => arg.includes('test/helpers/ts-loader.mjs')),
  `this process loads TypeScript with test/helpers/ts-loader.mjs (its --imports: ${imports.join(' ')})`,
);
t.notOk(
  imports.some((arg) => arg.includes('@tapjs/typescript')),
  "tap's TypeScript plugin is not loaded: run the tests with `npm test`, which builds tap with package.json's plugins first",
);
