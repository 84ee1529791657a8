/** lockerctl backup, restore, store migrate. */
import type { Command } from 'commander';
import { openDatabase } from '../../store/db.js';
import { schemaVersion } from '../../store/migrations.js';
import { createSilentLogger } from '../../logging.js';
import { databasePath, loadOpsConfig } from '../context.js';
import { report } from '../output.js';
import { parseSeconds, type CommandKit } from '../program.js';
import { assertAbsoluteDataDir, backupToFile, restoreFromFile } from '../store/backup-restore.js';

export function registerStoreCommands(program: Command, kit: CommandKit): void {
  program
    .command('backup')
    .description("write a consistent copy of the store to FILE (SQLite's online backup: the locker keeps running), checked with integrity_check")
    .argument('<file>', 'where to write the backup (mode 0600)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 written and checked, 3 refused (no store, no such directory), 1 other failure.')
    .action(async (file: string, options: { json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      kit.setExit(
        await report(kit.deps.io, 'backup', options, () => backupToFile(ctx, file), (r) => `backup ${r.file}: ${r.bytes} bytes, store schema ${r.schemaVersion}, integrity ok`),
      );
    });

  program
    .command('restore')
    .description('replace the store with a backup: refused if the file fails integrity_check or is newer than this release; the store as it was is kept as a backup')
    .argument('<file>', 'a backup made by lockerctl backup (or by an update)')
    .option('--health-timeout <seconds>', 'how long the service has to become healthy again', parseSeconds, '90')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 restored (and healthy), 3 refused (corrupt or too new: nothing changed), 5 unhealthy, 1 other failure.')
    .action(async (file: string, options: { healthTimeout: string; json?: boolean }, command: Command) => {
      const ctx = kit.context(command, options.healthTimeout);
      kit.setExit(
        await report(kit.deps.io, 'restore', options, () => restoreFromFile(ctx, file), (r) =>
          [`restored ${r.file} (store schema ${r.schemaVersion})`, r.safetyBackup ? `  the store before: ${r.safetyBackup}` : '', r.healthy ? '  the service is healthy' : '  start the service: systemctl start keylocker']
            .filter(Boolean)
            .join('\n'),
        ),
      );
    });

  const store = program.command('store').description('work on the store directly');
  store
    .command('migrate')
    .description("bring the store to this release's schema (lockerctl update runs the new release's migrate; the service also migrates at start)")
    .option('--json', 'print the result as one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      kit.setExit(
        await report(
          kit.deps.io,
          'store migrate',
          options,
          async () => {
            const config = await loadOpsConfig(ctx);
            assertAbsoluteDataDir(config.dataDir);
            const path = databasePath(config);
            const db = await openDatabase(path, createSilentLogger());
            try {
              const to = await schemaVersion(db);
              return { database: path, schema: { to } };
            } finally {
              await db.close();
            }
          },
          (r) => `store ${r.database} at schema ${r.schema.to}`,
        ),
      );
    });
}
