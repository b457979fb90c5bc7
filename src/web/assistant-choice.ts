import type { Config } from '../config/schema.js';
import type { TokenRequest } from './token-request.js';

/** What the page may know of an assistant: never its instructions or models. */
export interface WebAssistant {
  readonly name: string;
  readonly greeting?: string;
}

/**
 * The assistants the token endpoint may dispatch, asked at every request (so a reloaded
 * assistants file applies at once), or undefined when the service runs the single assistant of
 * the AGENT_* variables. An AssistantsSet's `assistants` fits as it is.
 */
export type AssistantsProvider = () => readonly WebAssistant[] | undefined;

export type ChoiceConfig = Pick<Config, 'AGENT_NAME'> & Partial<Pick<Config, 'AGENT_GREETING'>>;

/** The body of `GET /api/assistants`. */
export interface AssistantsListing {
  assistants: Array<{ name: string; greeting?: string }>;
  /** Dispatched when a token request names none; absent when none is available. */
  default?: string;
}

export function listAssistants(config: ChoiceConfig, provider: AssistantsProvider | undefined): AssistantsListing {
  const roster = provider?.() ?? [{ name: config.AGENT_NAME, greeting: config.AGENT_GREETING }];
  const assistants = roster.map(({ name, greeting }) => (greeting ? { name, greeting } : { name }));
  return assistants[0] ? { assistants, default: assistants[0].name } : { assistants };
}

export type Choice = { ok: true; agentName: string } | { ok: false; status: 400 | 503; code: string; reason: string };

/**
 * The agent a token dispatches: the request's `assistant` (or the agent its TokenSource room
 * configuration names), else the first configured assistant (AGENT_NAME without an assistants
 * file). A name not configured is refused; the refusal lists the configured names, nothing else.
 */
export function chooseAssistant(config: ChoiceConfig, provider: AssistantsProvider | undefined, request: TokenRequest): Choice {
  const roster = provider?.();
  const names = roster?.map((a) => a.name) ?? [config.AGENT_NAME];
  const single = roster === undefined;
  const assistant = request.assistant || undefined;
  const agentName = request.agentName || undefined;
  if (names.length === 0) return { ok: false, status: 503, code: 'UNAVAILABLE', reason: 'no assistant is available right now; try again later' };
  const known = single ? `this server runs only the assistant "${config.AGENT_NAME}"` : `not one of the assistants this server runs (${names.join(', ')})`;
  if (assistant !== undefined && !names.includes(assistant)) return { ok: false, status: 400, code: 'UNKNOWN_ASSISTANT', reason: `assistant: ${known}` };
  if (agentName !== undefined && !names.includes(agentName)) {
    const reason = single ? `this server dispatches only its own agent "${config.AGENT_NAME}"` : known;
    return { ok: false, status: 400, code: 'UNKNOWN_AGENT', reason: `room_config.agents.0.agent_name: ${reason}` };
  }
  if (assistant !== undefined && agentName !== undefined && assistant !== agentName) {
    return { ok: false, status: 400, code: 'INVALID_REQUEST', reason: 'assistant and room_config.agents.0.agent_name name different assistants' };
  }
  return { ok: true, agentName: assistant ?? agentName ?? (names[0] as string) };
}
