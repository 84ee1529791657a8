/** `node --import ./test/bench/use-build.mjs`: the locker's modules load from dist/ (use-build-hooks.mjs). */
import { register } from 'node:module';

register('./use-build-hooks.mjs', import.meta.url);
