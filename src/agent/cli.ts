#!/usr/bin/env node
/**
 * The `ovn-plug-agent` executable (package.json `bin`). Everything happens in `runCli`; this file
 * only hands it the process arguments and turns its result into the exit code.
 */
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2));
