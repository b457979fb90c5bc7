import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropTsxFlags } from '../../src/agent/job-entry.js';

describe('dropTsxFlags', () => {
  it('removes the hooks `node --import tsx` and the tsx command add, and nothing else', () => {
    const cases: Array<[string[], string[]]> = [
      [['--import', 'tsx'], []],
      [['--import=tsx', '--max-semi-space-size=2'], ['--max-semi-space-size=2']],
      [
        ['--require', '/app/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///app/node_modules/tsx/dist/loader.mjs', '--enable-source-maps'],
        ['--enable-source-maps'],
      ],
      [
        ['--import', './instrument.mjs', '--inspect'],
        ['--import', './instrument.mjs', '--inspect'],
      ],
      [
        ['--require', 'dotenv/config'],
        ['--require', 'dotenv/config'],
      ],
    ];
    for (const [argv, expected] of cases) {
      const copy = [...argv];
      dropTsxFlags(copy);
      assert.deepEqual(copy, expected, argv.join(' '));
    }
  });
});
