#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
const code = await runCli(process.argv.slice(2));
if (typeof code === 'number') process.exitCode = code;
