/** Types of use-build-hooks.mjs, for the tests that import it. */
export function builtFileOf(repo: string, path: string): string | null;
