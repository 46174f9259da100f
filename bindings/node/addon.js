'use strict';
// Where the native addon comes from. Two places, in this order:
//  1. build/node/Release/verikit.node: built on this machine by cmake-js (install.js builds it
//     only when no prebuild matches, or when asked with VERIKIT_BUILD_FROM_SOURCE=1);
//  2. bindings/node/prebuilds/<platform>-<arch>/verikit.node: the prebuild the published
//     tarball carries (scripts/dist.sh), with libverikit.so.0 and the libraries it needs beside
//     it (found through RPATH $ORIGIN). Its prebuild.json says what it needs: platform, arch,
//     libc family, the newest glibc symbol version it references and the Node-API version.
// The command-line program (`verikit`, cli/) is built into the same folder as the addon and comes
// from the same place (cli.js): the two always use the same libverikit.
const fs = require('node:fs');
const path = require('node:path');

const packageRoot = path.join(__dirname, '..', '..');
const localBuild = path.join(packageRoot, 'build', 'node', 'Release', 'verikit.node');
const prebuildDir = path.join(__dirname, 'prebuilds', `${process.platform}-${process.arch}`);

function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

// The glibc version of this process, or null when the C library is not glibc (musl).
function glibcVersion() {
  if (process.platform !== 'linux') return null;
  const header = process.report.getReport().header;
  return header.glibcVersionRuntime || null;
}

/**
 * Whether the prebuild for this platform and arch (if there is one) loads here: returns
 * { ok: true, dir } or { ok: false, reason }.
 */
function prebuildMatch() {
  const manifestPath = path.join(prebuildDir, 'prebuild.json');
  if (!fs.existsSync(manifestPath)) return { ok: false, reason: `no prebuild for ${process.platform}-${process.arch}` };
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const napi = Number(process.versions.napi || 0);
  if (napi < manifest.napi) return { ok: false, reason: `the prebuild needs Node-API ${manifest.napi}, this Node has ${napi}` };
  if (manifest.libc === 'glibc') {
    const glibc = glibcVersion();
    if (!glibc) return { ok: false, reason: 'the prebuild needs glibc (this C library is not glibc)' };
    if (compareVersions(glibc, manifest.glibc) < 0) {
      return { ok: false, reason: `the prebuild needs glibc ${manifest.glibc} or newer, this system has ${glibc}` };
    }
  }
  return { ok: true, dir: prebuildDir };
}

/** The folder of the addon to load (the local build's, else the matching prebuild's), or an Error saying why there is none. */
function nativeDir() {
  if (fs.existsSync(localBuild)) return path.dirname(localBuild);
  const match = prebuildMatch();
  if (match.ok) return match.dir;
  return new Error(`verikit: no native addon: ${match.reason}, and none was built from source ` +
    `(${localBuild} is missing). Reinstall verikit with a C++20 compiler, CMake and the libsodium, ` +
    'hiredis and OpenSSL development packages available to build it (VERIKIT_BUILD_FROM_SOURCE=1 npm rebuild verikit).');
}

/** The path of the addon to load, or an Error saying why there is none. */
function addonPath() {
  const dir = nativeDir();
  return dir instanceof Error ? dir : path.join(dir, 'verikit.node');
}

function load() {
  const file = addonPath();
  if (file instanceof Error) throw file;
  return require(file);
}

module.exports = { load, addonPath, nativeDir, prebuildMatch, localBuild, packageRoot };
