#!/usr/bin/env node
'use strict';
// `npx verikit ...`: the verikit command-line program (cli/), built with the addon into the same
// folder, run with the same arguments and stdio; exits with its code (or its signal). One
// implementation: this file only starts it (see `npx verikit --help`).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const binary = path.join(__dirname, '..', '..', 'build', 'node', 'Release', 'verikit');
if (!fs.existsSync(binary)) {
  process.stderr.write(`verikit: the command-line program was not built (${binary}): reinstall the package (npm install verikit)\n`);
  process.exit(2);
}
const run = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
if (run.error) {
  process.stderr.write(`verikit: cannot start ${binary}: ${run.error.message}\n`);
  process.exit(2);
}
if (run.signal) process.kill(process.pid, run.signal);
process.exit(run.status ?? 1);
