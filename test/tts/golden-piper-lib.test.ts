import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Espeak } from '../../src/tts/espeak.js';
import { ourEspeakIds, readGolden } from '../support/tts/golden.js';

/** The espeak-ng build Piper itself ships (inside the piper-phonemize wheel of the reference venv). */
function piperEspeakBuild(): { library: string; dataPath: string } {
  const venv = process.env.VO_TEST_REF_VENV ?? join(process.env.VO_CACHE ?? join(homedir(), '.cache', 'voice-orchestrator'), 'venv-ref');
  const hint = "Piper's espeak-ng build (piper-phonemize in $VO_CACHE/venv-ref) is not installed: run bash scripts/setup/piper-ref.sh";
  try {
    for (const py of readdirSync(join(venv, 'lib'))) {
      const candidate = join(venv, 'lib', py, 'site-packages', 'piper_phonemize.libs');
      try {
        const lib = readdirSync(candidate).find((f) => f.startsWith('libespeak-ng'));
        if (lib) {
          return { library: join(candidate, lib), dataPath: join(dirname(candidate), 'piper_phonemize') };
        }
      } catch {
        // try the next python version
      }
    }
  } catch {
    // reported below
  }
  throw new Error(hint);
}

describe("phoneme ids against the reference (Piper's espeak-ng build)", () => {
  it('matches the reference ids exactly for every sentence', () => {
    const golden = readGolden();
    const build = piperEspeakBuild();
    const espeak = Espeak.get(build);
    assert.equal(espeak.exactTerminators, true, 'the build should report clause terminators');
    const ours = ourEspeakIds(golden, build);
    golden.espeakCases.forEach((c, i) => {
      assert.deepEqual(ours[i], c.ids, `ids differ for ${JSON.stringify(c.text)}`);
    });
    console.log(`golden ids: ${golden.espeakCases.length}/${golden.espeakCases.length} sentences identical with Piper's espeak-ng build`);
  });
});
