import { TranscriptView } from './transcript.js';

export type AgentState = 'offline' | 'waiting' | 'initializing' | 'idle' | 'listening' | 'thinking' | 'speaking';
export type ConnectionView = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'error';

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page element #${id} is missing`);
  return element as T;
}

export const ui = {
  connection: byId('connection'),
  connectionText: byId('connection-text'),
  banner: byId('banner'),
  bannerText: byId('banner-text'),
  bannerClose: byId<HTMLButtonElement>('banner-close'),
  orb: byId('orb'),
  agentState: byId('agent-state'),
  hint: byId('hint'),
  models: byId('models'),
  assistantPicker: byId('assistant-picker'),
  assistant: byId<HTMLSelectElement>('assistant'),
  micLevel: byId<HTMLMeterElement>('mic-level'),
  agentLevel: byId<HTMLMeterElement>('agent-level'),
  connect: byId<HTMLButtonElement>('connect'),
  mic: byId<HTMLButtonElement>('mic'),
  startAudio: byId<HTMLButtonElement>('start-audio'),
  chat: byId<HTMLFormElement>('chat'),
  chatInput: byId<HTMLInputElement>('chat-input'),
  chatSend: byId<HTMLButtonElement>('chat-send'),
  audioSink: byId('audio-sink'),
};

export const transcript = new TranscriptView(byId<HTMLOListElement>('transcript'), byId('transcript-empty'));

const HINTS: Record<AgentState, string> = {
  offline: 'Press Connect, allow the microphone, then talk.',
  waiting: 'Waiting for the assistant to join…',
  initializing: 'The assistant is getting ready…',
  idle: 'The assistant is ready.',
  listening: 'Go ahead, the assistant is listening.',
  thinking: 'The assistant is thinking…',
  speaking: 'The assistant is speaking. Talk to interrupt.',
};

export function showBanner(message: string, kind: 'error' | 'warning' = 'error'): void {
  ui.bannerText.textContent = message;
  ui.banner.dataset['kind'] = kind;
  ui.banner.hidden = false;
}

export function hideBanner(): void {
  ui.banner.hidden = true;
}

export function setConnection(view: ConnectionView): void {
  const labels: Record<ConnectionView, string> = {
    disconnected: 'Not connected',
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Reconnecting…',
    error: 'Connection failed',
  };
  ui.connection.dataset['state'] = view;
  ui.connectionText.textContent = labels[view];
  document.body.dataset['connection'] = view;
  const inCall = view === 'connected' || view === 'reconnecting';
  ui.connect.disabled = view === 'connecting';
  ui.connect.textContent = view === 'connecting' ? 'Connecting…' : inCall ? 'Disconnect' : 'Connect';
  ui.connect.classList.toggle('primary', !inCall);
  ui.connect.classList.toggle('danger', inCall);
  ui.assistant.disabled = view === 'connecting' || inCall;
  ui.mic.disabled = view !== 'connected';
  ui.chatInput.disabled = view !== 'connected';
  ui.chatSend.disabled = view !== 'connected';
}

export function setAgentState(state: AgentState): void {
  ui.orb.dataset['state'] = state;
  ui.agentState.textContent = state === 'waiting' ? 'not here yet' : state;
  ui.hint.textContent = HINTS[state];
  document.body.dataset['agentState'] = state;
}

export function setLevel(meter: HTMLMeterElement, level: number): void {
  meter.value = level;
  if (level > Number(meter.dataset['peak'] ?? 0)) meter.dataset['peak'] = level.toFixed(3);
}

export function setMicButton(enabled: boolean): void {
  ui.mic.setAttribute('aria-pressed', String(!enabled));
  ui.mic.textContent = enabled ? 'Mute mic' : 'Unmute mic';
}

/** What the agent says it runs on (its `vo.models` attribute): `{"llm": "...", "stt": "...", "voice": "..."}`. */
export function showModels(raw: string | undefined): void {
  let models: Record<string, unknown> = {};
  try {
    models = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  } catch {
    models = {};
  }
  const parts = [
    ['Language model', models['llm']],
    ['Speech recognition', models['stt']],
    ['Voice', models['voice']],
  ].filter((part): part is [string, string] => typeof part[1] === 'string' && part[1].length > 0);
  ui.models.textContent = parts.map(([label, value]) => `${label}: ${value}`).join(' · ');
  ui.models.hidden = parts.length === 0;
}
