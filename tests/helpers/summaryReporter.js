// Prints the run's totals as one plain line ("jest: N passed, N failed, N skipped") after
// Jest's own summary, so any CI log reader can count them.
class SummaryReporter {
    onRunComplete(_contexts, results) {
        const skipped = results.numPendingTests + results.numTodoTests;
        process.stdout.write(
            `\njest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
        );
    }
}
module.exports = SummaryReporter;
