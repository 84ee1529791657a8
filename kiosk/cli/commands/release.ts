/** lockerctl update, rollback, releases. */
import type { Command } from 'commander';
import { report } from '../output.js';
import { parseSeconds, type CommandKit } from '../program.js';
import { currentVersion, installRelease, installedVersions, readState, switchCurrent } from '../release/releases.js';
import { rollback, update } from '../release/update.js';

const HEALTH_HELP = 'how long the started release has to become healthy before lockerctl switches back';

export function registerReleaseCommands(program: Command, kit: CommandKit): void {
  program
    .command('update')
    .description(
      'install a release tarball and switch to it: check every file against its manifest, back up and migrate the store, ' +
        'restart, and switch back by itself if the new release does not become healthy',
    )
    .argument('<file>', 'keylocker-<version>-<os>-<cpu>.tar.gz from npm run release')
    .option('--health-timeout <seconds>', HEALTH_HELP, parseSeconds, '90')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 updated, 3 refused (nothing changed), 4 rolled back (the previous release serves), 5 unhealthy, 1 other failure.')
    .action(async (file: string, options: { healthTimeout: string; json?: boolean }, command: Command) => {
      const ctx = kit.context(command, options.healthTimeout);
      kit.setExit(
        await report(kit.deps.io, 'update', options, () => update(ctx, file), (r) =>
          [
            `updated ${r.from ?? '(nothing)'} -> ${r.to}`,
            `  store schema ${r.schema.from} -> ${r.schema.to}${r.backup ? `, backup ${r.backup}` : ''}`,
            `  healthy at ${r.healthUrl}`,
            `  lockerctl rollback returns to ${r.from ?? 'nothing'}`,
          ].join('\n'),
        ),
      );
    });

  program
    .command('install')
    .description(
      'check a release tarball against its manifest and this machine, and unpack it beside the others; it becomes current only if none is ' +
        '(first install: deploy/install.sh runs this). Touches neither the service nor the store: use update to switch a running locker.',
    )
    .argument('<file>', 'keylocker-<version>-<os>-<cpu>.tar.gz from npm run release')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 installed (or already there, unchanged), 3 refused (nothing changed), 1 other failure.')
    .action(async (file: string, options: { json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      kit.setExit(
        await report(
          kit.deps.io,
          'install',
          options,
          async () => {
            const release = await installRelease(ctx.layout, file);
            let current = await currentVersion(ctx.layout);
            if (current === null) {
              await switchCurrent(ctx.layout, release.version);
              current = release.version;
            }
            return { version: release.version, dir: release.dir, alreadyInstalled: release.alreadyInstalled, current };
          },
          (r) =>
            `${r.alreadyInstalled ? 'already installed' : 'installed'}: ${r.dir}\n  current: ${r.current}${r.current === r.version ? '' : ` (switch with: lockerctl update FILE)`}`,
        ),
      );
    });

  program
    .command('rollback')
    .description('return to the release that ran before, restoring the store backup taken when it was left if the schema has moved on')
    .option('--health-timeout <seconds>', HEALTH_HELP, parseSeconds, '90')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 rolled back and healthy, 3 refused (no previous release; nothing changed), 5 unhealthy, 1 other failure.')
    .action(async (options: { healthTimeout: string; json?: boolean }, command: Command) => {
      const ctx = kit.context(command, options.healthTimeout);
      kit.setExit(
        await report(kit.deps.io, 'rollback', options, () => rollback(ctx), (r) =>
          [`rolled back ${r.from} -> ${r.to}`, r.restoredBackup ? `  store restored from ${r.restoredBackup}` : '  store kept as it was', r.safetyBackup ? `  the store before: ${r.safetyBackup}` : '', `  healthy at ${r.healthUrl}`]
            .filter(Boolean)
            .join('\n'),
        ),
      );
    });

  program
    .command('releases')
    .description('list the installed releases, the current one and the one rollback returns to')
    .option('--json', 'print the result as one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      kit.setExit(
        await report(
          kit.deps.io,
          'releases',
          options,
          async () => ({ installed: await installedVersions(ctx.layout), current: await currentVersion(ctx.layout), previous: (await readState(ctx.layout)).previous }),
          (r) => r.installed.map((v) => `${v === r.current ? '*' : ' '} ${v}${v === r.previous ? '  (rollback target)' : ''}`).join('\n') || 'no release installed',
        ),
      );
    });
}
