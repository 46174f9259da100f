#!/usr/bin/env node
'use strict';
// `npx verikit ...`: the verikit command-line program (cli/), run with the same arguments and
// stdio; exits with its code (or its signal). One implementation: this file only starts it (see
// `npx verikit --help`). It sits beside the addon, wherever that comes from (addon.js): the
// tarball's prebuild (bindings/node/prebuilds/<platform>-<arch>/verikit, RPATH $ORIGIN) or the
// from-source build (build/node/Release/verikit, built with the addon by cmake-js).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { nativeDir } = require('./addon');

const dir = nativeDir();
if (dir instanceof Error) {
  process.stderr.write(`${dir.message}\n`);
  process.exit(2);
}
const binary = path.join(dir, 'verikit');
if (!fs.existsSync(binary)) {
  process.stderr.write(`verikit: the command-line program is missing beside the addon (${binary}): ` +
    'reinstall the package (npm install verikit)\n');
  process.exit(2);
}
const run = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
if (run.error) {
  process.stderr.write(`verikit: cannot start ${binary}: ${run.error.message}\n`);
  process.exit(2);
}
if (run.signal) process.kill(process.pid, run.signal);
process.exit(run.status ?? 1);
