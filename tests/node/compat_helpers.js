'use strict';
// verikit/compat as the installed package exposes it (through its "exports" map when the suite
// runs against an installed copy), and modules of the test project (node-redis, Nest).
const path = require('node:path');
const { PKG } = require('./helpers');

const project = process.env.VERIKIT_NODE_PROJECT;

function fromProject(name) {
  return require(require.resolve(name, { paths: [project || path.join(__dirname, '..', '..')] }));
}

const compat = project ? fromProject('verikit/compat') : require(path.join(PKG, 'bindings', 'node', 'compat'));

// Hooks run in a microtask after the operation, as in the package: let them run.
const flushHooks = () => new Promise((resolve) => setTimeout(resolve, 0));

const email = (intent = 'login', identifier = 'user@example.com') => ({ type: 'email', identifier, intent });

module.exports = { compat, fromProject, project, flushHooks, email };
