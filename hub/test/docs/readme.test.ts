/**
 * The README's contract with a newcomer and with CI: its quick start is the
 * two commands (`npm ci && npm run demo`, `npm test`), and `.ci/run` runs
 * that same test command.
 */
import t from 'tap';
import { read } from './repo-files.js';

const readme = read('README.md');

t.test('the quick start is the two contract commands', async (t) => {
  t.match(readme, /```sh\nnpm ci && npm run demo\n```/);
  t.match(readme, /```sh\nnpm test\n```/);
});

t.test('.ci/run runs the README test command', async (t) => {
  const testCommand = /Run the tests:\n\n```sh\n(.+)\n```/.exec(readme)?.[1];
  t.equal(testCommand, 'npm test');
  const ciCommands = read('.ci/run')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'));
  t.ok(ciCommands.some((line) => line.trim().startsWith(`${testCommand} `) || line.trim() === testCommand), '.ci/run has a line running it');
});
