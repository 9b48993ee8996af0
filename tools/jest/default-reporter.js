// Jest's per-file reporter without its built-in summary (summary-reporter.js prints that).
module.exports = require('@jest/reporters').DefaultReporter;
