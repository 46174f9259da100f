'use strict';
// npm's install script: nothing to do when the tarball's prebuilt addon loads here; otherwise
// (another platform, arch or C library, an older glibc, or asked with VERIKIT_BUILD_FROM_SOURCE=1
// or npm's --build-from-source) the addon is built from source with cmake-js into build/node,
// which needs CMake, a C++20 compiler and the libsodium, hiredis, LMDB and OpenSSL development packages.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { prebuildMatch, packageRoot } = require('./addon');

function fromSourceRequested() {
  return [process.env.VERIKIT_BUILD_FROM_SOURCE, process.env.npm_config_build_from_source]
    .some((v) => v !== undefined && v !== '' && v !== '0' && v !== 'false');
}

function cmakeJs() {
  try {
    const manifest = require.resolve('cmake-js/package.json', { paths: [packageRoot] });
    const pkg = require(manifest);
    const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin['cmake-js'];
    return path.join(path.dirname(manifest), bin);
  } catch {
    return null;
  }
}

// The manifest can't say everything the prebuild needs of the system (libstdc++'s version, for
// one): it is loaded once, in a child process (a broken file can crash the loader), and a
// prebuild that does not load counts as no match.
function prebuildLoads(match) {
  if (!match.ok) return match;
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(match.dir, 'verikit.node'))})`],
    { encoding: 'utf8' });
  if (r.status === 0) return match;
  const why = r.signal ? `killed by ${r.signal}` : (r.stderr.split('\n').find((l) => /Error/.test(l)) || `exit ${r.status}`);
  return { ok: false, reason: `the prebuild does not load here (${why.trim()})` };
}

function main() {
  const match = fromSourceRequested() ? prebuildMatch() : prebuildLoads(prebuildMatch());
  if (match.ok && !fromSourceRequested()) {
    console.log(`verikit: using the prebuilt addon in ${path.relative(packageRoot, match.dir)}`);
    return 0;
  }
  const why = fromSourceRequested() ? 'building from source as asked' : `${match.reason}: building from source`;
  console.log(`verikit: ${why} (cmake-js; needs CMake, a C++20 compiler, libsodium, hiredis, LMDB and OpenSSL dev packages)`);
  const bin = cmakeJs();
  if (!bin) {
    console.error('verikit: cmake-js is not installed: it and node-addon-api are optional dependencies, ' +
      'needed only to build from source (install them, or do not pass --omit=optional)');
    return 1;
  }
  const r = spawnSync(process.execPath,
    [bin, 'compile', '--out', 'build/node', '--CDVERIKIT_BUILD_TESTS=OFF', '--parallel', '2'],
    { cwd: packageRoot, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status === null ? 1 : r.status;
}

process.exitCode = main();
