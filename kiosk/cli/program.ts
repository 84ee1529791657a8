/**
 * lockerctl's command line: commander, one file per command group under commands/, each
 * registering its commands with the shared dependencies below. Add a group by writing
 * commands/<group>.ts and listing it in GROUPS.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { softwareVersion } from '../version.js';
import type { OpsContext } from './context.js';
import { layoutFor } from './layout.js';
import { EXIT, type Io } from './output.js';
import { registerReleaseCommands } from './commands/release.js';
import { registerStoreCommands } from './commands/store.js';
import { registerTechnicianCommands } from './commands/technician.js';
import { registerProvisionCommand } from './commands/provision.js';
import { registerSupportCommands } from './commands/support.js';
import { NoServiceManager, SystemdServiceManager, type ServiceManager } from './service/service-manager.js';

export interface CliDeps {
  io: Io;
  env: NodeJS.ProcessEnv;
  /** Tests hand in their own (a process runner); otherwise --service-manager decides. */
  serviceManager?: ServiceManager;
}

/** The options every command sees, and how a command gets its OpsContext from them. */
export interface GlobalOptions {
  root: string;
  serviceManager: 'systemd' | 'none';
  /** The service's admin socket; default: admin.socketPath of the config file. */
  socket?: string;
}

export interface CommandKit {
  deps: CliDeps;
  /** Set by the action that ran: its exit code. */
  setExit(code: number): void;
  context(command: Command, healthTimeoutS?: string): OpsContext;
}

const GROUPS = [registerTechnicianCommands, registerProvisionCommand, registerSupportCommands, registerReleaseCommands, registerStoreCommands];

export function buildProgram(deps: CliDeps, setExit: (code: number) => void): Command {
  const program = new Command('lockerctl')
    .description("The technician's tool for a keylocker: status, selftest, open, logs, provision, diagnostics, releases (update, rollback) and the store (backup, restore).")
    .version(softwareVersion(), '-V, --version', "print lockerctl's own version")
    .addOption(new Option('--root <dir>', 'the file system root the locker is installed under').default(deps.env.KEYLOCKER_ROOT ?? '/'))
    .addOption(
      new Option('--service-manager <kind>', 'what runs the service: systemd, or none when it is stopped and you work on the store directly')
        .choices(['systemd', 'none'])
        .default(deps.env.KEYLOCKER_SERVICE_MANAGER ?? 'systemd'),
    )
    .addOption(new Option('--socket <path>', "the running service's admin socket (default: admin.socketPath in the config file)").default(deps.env.KEYLOCKER_ADMIN_SOCKET))
    .showHelpAfterError('(lockerctl --help lists every command)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => deps.io.stdout(text), writeErr: (text) => deps.io.stderr(text) });
  const kit: CommandKit = {
    deps,
    setExit,
    context(command, healthTimeoutS) {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const layout = layoutFor(globals.root);
      const service = deps.serviceManager ?? (globals.serviceManager === 'none' ? new NoServiceManager() : new SystemdServiceManager());
      return {
        layout,
        service,
        progress: (line) => deps.io.stderr(`${line}\n`),
        healthTimeoutMs: Math.round(Number(healthTimeoutS ?? 90) * 1000),
        node: process.execPath,
      };
    },
  };
  for (const register of GROUPS) register(program, kit);
  return program;
}

/** Runs lockerctl with these arguments; resolves with the exit code. */
export async function runLockerctl(argv: readonly string[], deps: CliDeps): Promise<number> {
  let exit: number = EXIT.OK;
  const program = buildProgram(deps, (code) => (exit = code));
  program.commands.forEach(function exitOverrideAll(command: Command): void {
    command.exitOverride();
    command.commands.forEach(exitOverrideAll);
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    throw error;
  }
  return exit;
}

/** A positive number of seconds, for --health-timeout. */
export function parseSeconds(value: string): string {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new InvalidArgumentError('a number of seconds, more than 0 and at most 3600');
  }
  return value;
}
