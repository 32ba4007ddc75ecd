// Prints one line of counts from a mocha JSON report: suite, passed, failed, pending, and
// the titles of the failures (with --failures).
//
//   node interop/count-results.mjs SUITE_NAME REPORT.json [--failures]
import fs from 'node:fs';

const [name, file, flag] = process.argv.slice(2);
const report = JSON.parse(fs.readFileSync(file, 'utf8'));
const {passes, failures, pending, tests} = report.stats;
console.log(`${name}: ${passes} passed, ${failures} failed, ${pending} pending, ${tests} tests`);
if(flag === '--failures') {
  for(const failure of report.failures) {
    const message = (failure.err && failure.err.message || '').split('\n')[0].slice(0, 160);
    console.log(`  ✘ ${failure.fullTitle.slice(0, 200)}\n      ${message}`);
  }
}
