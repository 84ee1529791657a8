/** `node --import ./test/helpers/ts-loader.mjs file.ts`: TypeScript for the tests (ts-hooks.mjs). */
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
