#!/usr/bin/env node
// Placeholder entry point until the gRPC server lands (issue: apps/serving).
console.error('warmstart-serve: the gRPC server is not built yet');
process.exitCode = 1;
