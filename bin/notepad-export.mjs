#!/usr/bin/env node
// The package's bin (`npx notepad-export export …`): runs client/cli.ts through tsx, in this
// process, so that Ctrl-C reaches the CLI (which cancels the job) directly.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../client/cli.ts');
const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));
process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
