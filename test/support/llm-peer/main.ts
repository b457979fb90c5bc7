/**
 * Runs the LLM test peer on its own, for manual runs:
 *   npx tsx src/testing/llm-peer/main.ts [--port 8000] [--stand-in]
 * then LLM_BASE_URL=http://127.0.0.1:8000/v1. Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startLlmServer } from '../llm-server.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '8000' }, 'stand-in': { type: 'boolean', default: false } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`bad --port ${values.port}`);
const server = await startLlmServer({ port, engine: values['stand-in'] ? 'stand-in' : 'smollm2' });
process.stderr.write(`llm test peer (${server.model}${server.isStandIn ? ', STAND-IN' : ''}) at ${server.baseURL}\n`);
const stop = () => void server.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
