'use strict';
// verikit/compat as the installed package exposes it (through its "exports" map when the suite
// runs against an installed copy), and modules of the test project (node-redis, Nest).
const { createRequire } = require('node:module');
const path = require('node:path');
const { PKG } = require('./helpers');

const project = process.env.VERIKIT_NODE_PROJECT;

// Resolved as the project resolves it (from inside this repository, whose package is also
// named verikit, 'verikit/compat' would name the repository's own copy).
const fromProject = createRequire(path.join(project || path.join(__dirname, '..', '..'), 'package.json'));

const compat = project ? fromProject('verikit/compat') : require(path.join(PKG, 'bindings', 'node', 'compat'));

// Hooks run in a microtask after the operation, as in the package: let them run.
const flushHooks = () => new Promise((resolve) => setTimeout(resolve, 0));

const email = (intent = 'login', identifier = 'user@example.com') => ({ type: 'email', identifier, intent });

module.exports = { compat, fromProject, project, flushHooks, email };
