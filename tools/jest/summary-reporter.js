// Jest's own summary, then one last line a CI log reader can grep: "N passed, N failed".
// (Jest always appends its built-in summary after custom reporters, so we extend it instead.)
const { SummaryReporter } = require('@jest/reporters');

class CountingSummaryReporter extends SummaryReporter {
  onRunComplete(testContexts, results) {
    super.onRunComplete(testContexts, results);
    const skipped = results.numPendingTests + results.numTodoTests;
    const broken = results.numRuntimeErrorTestSuites;
    const note = broken > 0 ? ` (${broken} test file(s) failed to run)` : '';
    process.stderr.write(
      `\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped${note}\n`,
    );
  }
}
module.exports = CountingSummaryReporter;
