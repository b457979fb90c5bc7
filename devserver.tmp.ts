import { ToneSynthesizer } from './src/legacy/dev-synth.js';
import { startLegacy } from './src/legacy/test-support.js';
const s = await startLegacy(new ToneSynthesizer(), { LEGACY_PORT: process.argv[2] });
console.log(s.url);
