#!/usr/bin/env node
/**
 * lockerctl: the technician's command line on a locker (installed as /usr/local/bin/lockerctl).
 * `lockerctl --help` lists the commands; each has its own --help.
 */
import { runLockerctl } from './program.js';

runLockerctl(process.argv.slice(2), {
  io: { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) },
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`lockerctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
