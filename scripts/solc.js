#!/usr/bin/env node
// A `solc`-compatible command line over solc-js, for py-solc-x and ape-solidity.
//
// solc-js's own CLI differs from native solc in ways those tools trip over: it prints a
// line before the JSON, truncates piped output past ~64 KiB when it exits through
// process.exit, resolves no imports without a base path, and has no --combined-json or
// --allow-paths. This shim speaks native solc's dialect for the subset they use:
//   --version, --standard-json (stdin -> stdout), and `FILES --combined-json KINDS`.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const COMBINED_JSON_KINDS = {
  abi: (c) => c.abi,
  bin: (c) => c.evm.bytecode.object,
  'bin-runtime': (c) => c.evm.deployedBytecode.object,
  'srcmap': (c) => c.evm.bytecode.sourceMap,
  'srcmap-runtime': (c) => c.evm.deployedBytecode.sourceMap,
  hashes: (c) => c.evm.methodIdentifiers,
  metadata: (c) => c.metadata,
  devdoc: (c) => c.devdoc,
  userdoc: (c) => c.userdoc,
  'storage-layout': (c) => c.storageLayout,
};
const OUTPUT_SELECTION_FOR_KIND = {
  abi: ['abi'],
  bin: ['evm.bytecode.object'],
  'bin-runtime': ['evm.deployedBytecode.object'],
  srcmap: ['evm.bytecode.sourceMap'],
  'srcmap-runtime': ['evm.deployedBytecode.sourceMap'],
  hashes: ['evm.methodIdentifiers'],
  metadata: ['metadata'],
  devdoc: ['devdoc'],
  userdoc: ['userdoc'],
  'storage-layout': ['storageLayout'],
};

// Writes everything before the process ends: a blocking loop on fd, never process.exit.
function writeAll(fd, text) {
  const buffer = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

function fail(message) {
  writeAll(2, message.endsWith('\n') ? message : message + '\n');
  process.exitCode = 1;
}

function parseArgs(argv) {
  const options = { files: [], remappings: [], includePaths: [], basePath: null, allowPaths: [] };
  const takesValue = new Set(['--base-path', '--include-path', '--allow-paths', '--combined-json',
    '--evm-version', '--optimize-runs', '-o', '--output-dir']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let [flag, inlineValue] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (takesValue.has(flag)) {
      const value = inlineValue !== undefined ? inlineValue : argv[++i];
      if (value === undefined) throw new Error(`Option ${flag} needs a value.`);
      switch (flag) {
        case '--base-path': options.basePath = value; break;
        case '--include-path': options.includePaths.push(value); break;
        case '--allow-paths': options.allowPaths.push(...value.split(',')); break;
        case '--combined-json': options.combinedJson = value.split(','); break;
        case '--evm-version': options.evmVersion = value; break;
        case '--optimize-runs': options.optimizeRuns = Number(value); break;
        default: throw new Error(`Option ${flag} is not supported by this solc-js shim.`);
      }
    } else if (flag === '--version') options.version = true;
    else if (flag === '--standard-json') options.standardJson = true;
    else if (flag === '--optimize') options.optimize = true;
    else if (flag === '--no-color' || flag === '--pretty-json') { /* accepted for compatibility */ }
    else if (flag.startsWith('-')) throw new Error(`Option ${flag} is not supported by this solc-js shim.`);
    else if (/^[^=]*:?[^=]*=/.test(arg) && !fs.existsSync(arg)) options.remappings.push(arg);
    else options.files.push(arg);
  }
  return options;
}

// The project this shim belongs to: always an include path, so `node_modules/...` imports
// resolve even when a tool (ape) compiles from an isolated copy of `contracts/` elsewhere.
const PROJECT_ROOT = path.resolve(__dirname, '..');

// Native solc's virtual filesystem: a source unit name is looked up under the base path,
// then under each include path; absolute names are taken as they are.
function makeImportCallback(options) {
  const roots = [...new Set([options.basePath || process.cwd(), ...options.includePaths, PROJECT_ROOT])];
  return function findImports(sourceUnitName) {
    const candidates = path.isAbsolute(sourceUnitName)
      ? [sourceUnitName]
      : roots.map((root) => path.resolve(root, sourceUnitName));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (err) {
        if (err.code !== 'ENOENT' && err.code !== 'EISDIR') return { error: `${candidate}: ${err.message}` };
      }
    }
    return { error: `File not found. Searched the following locations: ${roots.map((r) => `"${r}"`).join(', ')}.` };
  };
}

function readStdin() {
  const chunks = [];
  const buffer = Buffer.alloc(1 << 16);
  for (;;) {
    let bytes;
    try {
      bytes = fs.readSync(0, buffer, 0, buffer.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') continue;
      if (err.code === 'EOF') break;
      throw err;
    }
    if (bytes === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, bytes)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function standardJson(options) {
  const input = readStdin();
  // solc-js reads `urls` sources only through the callback; native solc does the same.
  const output = solc.compile(input, { import: makeImportCallback(options) });
  writeAll(1, output + '\n');
}

function combinedJson(options) {
  if (options.files.length === 0) throw new Error('No input files given.');
  const kinds = options.combinedJson;
  for (const kind of kinds) {
    if (!(kind in COMBINED_JSON_KINDS)) throw new Error(`Invalid option to --combined-json: ${kind}`);
  }
  const sources = {};
  for (const file of options.files) sources[file] = { content: fs.readFileSync(file, 'utf8') };
  const selection = kinds.flatMap((kind) => OUTPUT_SELECTION_FOR_KIND[kind]);
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      remappings: options.remappings,
      optimizer: { enabled: Boolean(options.optimize), runs: options.optimizeRuns || 200 },
      outputSelection: { '*': { '*': selection, '': ['ast'] } },
      ...(options.evmVersion ? { evmVersion: options.evmVersion } : {}),
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: makeImportCallback(options) }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) writeAll(2, e.formattedMessage + '\n');
  if (errors.length > 0) {
    process.exitCode = 1;
    return;
  }
  const contracts = {};
  for (const [file, byName] of Object.entries(output.contracts || {})) {
    for (const [name, contract] of Object.entries(byName)) {
      const entry = {};
      for (const kind of kinds) entry[kind] = COMBINED_JSON_KINDS[kind](contract);
      contracts[`${file}:${name}`] = entry;
    }
  }
  writeAll(1, JSON.stringify({ contracts, version: solc.version() }) + '\n');
}

function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    return fail(err.message);
  }
  try {
    if (options.version) {
      writeAll(1, `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    } else if (options.standardJson) {
      standardJson(options);
    } else if (options.combinedJson) {
      combinedJson(options);
    } else {
      fail('Usage: solc --version | solc --standard-json [--base-path P] [--include-path P] | solc FILES --combined-json KINDS');
    }
  } catch (err) {
    fail(err.message);
  }
}

main();
