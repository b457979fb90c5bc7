import { maskUrlCredentials } from '../config/mask.js';
import type { AssistantsSet, ChainLink, ResolvedChain } from './types.js';

const GREETING_SHOWN = 60;

function describeLink(link: ChainLink): string {
  const where = link.provider === 'local' ? 'local' : [link.provider, link.model, link.baseURL && maskUrlCredentials(link.baseURL)].filter(Boolean).join(' ');
  return `${link.profile} (${where})`;
}

export function describeChain(chain: ResolvedChain): string {
  return chain.map(describeLink).join(' -> ');
}

function shorten(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** The effective assistants, for people (config:check, `assistants check`): no instructions text, no keys. */
export function describeAssistants(set: AssistantsSet): string {
  const count = set.assistants.length;
  const lines = [`assistants file ${set.file}: ${count} assistant${count === 1 ? '' : 's'}`];
  for (const assistant of set.assistants) {
    lines.push(`  ${assistant.name}`);
    lines.push(`    voice         ${assistant.voice}`);
    lines.push(`    llm           ${describeChain(assistant.llm)}`);
    lines.push(`    stt           ${describeChain(assistant.stt)}`);
    lines.push(`    greeting      ${assistant.greeting === '' ? '(none)' : JSON.stringify(shorten(assistant.greeting, GREETING_SHOWN))}`);
    const instructions = assistant.instructionsFile ? `from ${assistant.instructionsFile}, ` : '';
    lines.push(`    instructions  ${instructions}${assistant.instructions.length} characters`);
    if (assistant.maxSessions !== undefined) lines.push(`    max sessions  ${assistant.maxSessions}`);
  }
  for (const warning of set.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
