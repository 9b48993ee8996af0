// Builds the optional native kernels (batch_matmul.cc) with node-gyp when @warmstart/core is
// installed. A failed build is not an install error: @warmstart/core then runs the stock
// TensorFlow.js kernels and initBackend() reports why (see README, "Native kernels").
// Set WARMSTART_NATIVE_KERNELS=off to skip the build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

if (/^(off|0|false)$/i.test(process.env.WARMSTART_NATIVE_KERNELS ?? '')) {
  console.log('@warmstart/core: WARMSTART_NATIVE_KERNELS=off, native kernels not built');
  process.exit(0);
}

// npm tells lifecycle scripts where its bundled node-gyp is; outside npm, look next to node.
const gyp =
  process.env.npm_config_node_gyp ??
  path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
const run = fs.existsSync(gyp)
  ? spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: __dirname, encoding: 'utf8' })
  : { status: 1, stdout: '', stderr: `node-gyp not found at ${gyp}` };
if (run.status === 0) {
  console.log('@warmstart/core: native kernels built (native/build/Release/warmstart_kernels.node)');
} else {
  const tail = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  console.warn(
    `@warmstart/core: native kernels not built; the stock TensorFlow.js kernels will be used.\n${tail}`,
  );
}
