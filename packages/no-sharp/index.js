// Plain JavaScript: loaded by Node from node_modules in every process, job processes included, with no TypeScript loader.
export default function sharp() {
  throw new Error('video frames cannot be sent to the LLM: voice-orchestrator installs no image library (sharp), see package.json "overrides"');
}
