/** Many assistants from one file (ASSISTANTS_FILE): loaded, validated, watched. */
export { AssistantsFileError } from './errors.js';
export { assistantsOptions, keyEnvironment } from './from-config.js';
export { loadAssistantsFile } from './load.js';
export type { Assistant, AssistantsSet, ChainLink, Profile, ResolvedChain } from './types.js';
export { AssistantsSource } from './watch.js';
