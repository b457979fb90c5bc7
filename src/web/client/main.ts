import {
  setLogLevel,
  ConnectionState,
  DisconnectReason,
  type LocalTrackPublication,
  type Participant,
  ParticipantKind,
  type RemoteParticipant,
  type RemoteTrack,
  Room,
  RoomEvent,
  type TextStreamReader,
  Track,
} from 'livekit-client';
import { describeConnectionError, describeMicrophoneError } from './errors.js';
import { LevelMeter } from './level-meter.js';
import { fetchConnectionDetails } from './token-client.js';
import { TranscriptView } from './transcript.js';

// livekit-client logs signalling URLs (with the access token) at info level.
setLogLevel('warn');

const AGENT_STATE_ATTRIBUTE = 'lk.agent.state';
const TRANSCRIPTION_TOPIC = 'lk.transcription';
const CHAT_TOPIC = 'lk.chat';
const AGENT_JOIN_WARNING_MS = 20_000;

type AgentState = 'offline' | 'waiting' | 'initializing' | 'idle' | 'listening' | 'thinking' | 'speaking';
type ConnectionView = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'error';

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page element #${id} is missing`);
  return element as T;
}

const ui = {
  connection: byId('connection'),
  connectionText: byId('connection-text'),
  banner: byId('banner'),
  bannerText: byId('banner-text'),
  bannerClose: byId<HTMLButtonElement>('banner-close'),
  orb: byId('orb'),
  agentState: byId('agent-state'),
  hint: byId('hint'),
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

const transcript = new TranscriptView(byId<HTMLOListElement>('transcript'), byId('transcript-empty'));

const HINTS: Record<AgentState, string> = {
  offline: 'Press Connect, allow the microphone, then talk.',
  waiting: 'Waiting for the assistant to join…',
  initializing: 'The assistant is getting ready…',
  idle: 'The assistant is ready.',
  listening: 'Go ahead, the assistant is listening.',
  thinking: 'The assistant is thinking…',
  speaking: 'The assistant is speaking. Talk to interrupt.',
};

let room: Room | undefined;
let audioContext: AudioContext | undefined;
let micMeter: LevelMeter | undefined;
let agentMeter: { meter: LevelMeter; trackSid: string } | undefined;
let agentJoinTimer: number | undefined;
let userDisconnected = false;

// ---------- view helpers

function showBanner(message: string, kind: 'error' | 'warning' = 'error'): void {
  ui.bannerText.textContent = message;
  ui.banner.dataset['kind'] = kind;
  ui.banner.hidden = false;
}

function hideBanner(): void {
  ui.banner.hidden = true;
}

function setConnection(view: ConnectionView): void {
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
  ui.mic.disabled = view !== 'connected';
  ui.chatInput.disabled = view !== 'connected';
  ui.chatSend.disabled = view !== 'connected';
}

function setAgentState(state: AgentState): void {
  ui.orb.dataset['state'] = state;
  ui.agentState.textContent = state === 'waiting' ? 'not here yet' : state;
  ui.hint.textContent = HINTS[state];
  document.body.dataset['agentState'] = state;
}

function setLevel(meter: HTMLMeterElement, level: number): void {
  meter.value = level;
  if (level > Number(meter.dataset['peak'] ?? 0)) meter.dataset['peak'] = level.toFixed(3);
}

function setMicButton(enabled: boolean): void {
  ui.mic.setAttribute('aria-pressed', String(!enabled));
  ui.mic.textContent = enabled ? 'Mute mic' : 'Unmute mic';
}

// ---------- media

function ensureAudioContext(): AudioContext {
  audioContext ??= new AudioContext();
  if (audioContext.state === 'suspended') void audioContext.resume();
  return audioContext;
}

function startMicMeter(publication: LocalTrackPublication | undefined): void {
  micMeter?.stop();
  micMeter = undefined;
  const track = publication?.track?.mediaStreamTrack;
  if (track) micMeter = new LevelMeter(ensureAudioContext(), track, (level) => setLevel(ui.micLevel, level));
}

async function enableMicrophone(current: Room): Promise<void> {
  try {
    const publication = await current.localParticipant.setMicrophoneEnabled(true);
    startMicMeter(publication);
    setMicButton(true);
  } catch (error) {
    setMicButton(false);
    showBanner(describeMicrophoneError(error));
  }
}

function isAgent(participant: Participant): boolean {
  return participant.kind === ParticipantKind.AGENT || participant.attributes[AGENT_STATE_ATTRIBUTE] !== undefined;
}

function agentArrived(participant: RemoteParticipant): void {
  window.clearTimeout(agentJoinTimer);
  if (!ui.banner.hidden && ui.banner.dataset['kind'] === 'warning') hideBanner();
  setAgentState((participant.attributes[AGENT_STATE_ATTRIBUTE] as AgentState | undefined) ?? 'initializing');
}

async function readTranscription(reader: TextStreamReader, sender: { identity: string }): Promise<void> {
  const attributes = reader.info.attributes ?? {};
  const segmentId = attributes['lk.segment_id'] ?? reader.info.id;
  const speaker = sender.identity === room?.localParticipant.identity ? 'user' : 'agent';
  const markedFinal = attributes['lk.transcription_final'] === 'true';
  let text = '';
  for await (const chunk of reader) {
    text += chunk;
    transcript.setSegment(segmentId, speaker, text, markedFinal);
  }
  // The agent streams its words as deltas into one stream; its end is the end of the segment.
  transcript.setSegment(segmentId, speaker, text, markedFinal || speaker === 'agent');
}

function disconnectMessage(reason: DisconnectReason | undefined): string {
  switch (reason) {
    case DisconnectReason.ROOM_DELETED:
    case DisconnectReason.ROOM_CLOSED:
      return 'The conversation was closed by the server. Press Connect to start a new one.';
    case DisconnectReason.PARTICIPANT_REMOVED:
      return 'You were removed from the conversation.';
    case DisconnectReason.DUPLICATE_IDENTITY:
      return 'The same identity joined from somewhere else, so this page was disconnected.';
    case DisconnectReason.SERVER_SHUTDOWN:
      return 'The voice server is restarting. Press Connect again in a moment.';
    case DisconnectReason.JOIN_FAILURE:
      return 'Joining the conversation failed. Press Connect to try again.';
    default:
      return 'The connection was lost and could not be restored. Press Connect to start again.';
  }
}

// ---------- room lifecycle

function resetCallView(): void {
  window.clearTimeout(agentJoinTimer);
  micMeter?.stop();
  micMeter = undefined;
  agentMeter?.meter.stop();
  agentMeter = undefined;
  ui.audioSink.replaceChildren();
  ui.startAudio.hidden = true;
  setMicButton(true);
  setAgentState('offline');
}

function wireRoom(current: Room): void {
  current
    .on(RoomEvent.ConnectionStateChanged, (state) => {
      if (state === ConnectionState.Connected) setConnection('connected');
      else if (state === ConnectionState.Reconnecting || state === ConnectionState.SignalReconnecting) setConnection('reconnecting');
    })
    .on(RoomEvent.Reconnecting, () => showBanner('The connection dropped. Reconnecting…', 'warning'))
    .on(RoomEvent.SignalReconnecting, () => showBanner('The connection dropped. Reconnecting…', 'warning'))
    .on(RoomEvent.Reconnected, () => {
      hideBanner();
      transcript.add('system', 'Reconnected.');
    })
    .on(RoomEvent.Disconnected, (reason) => {
      if (room !== current) return;
      room = undefined;
      resetCallView();
      setConnection('disconnected');
      if (!userDisconnected && reason !== DisconnectReason.CLIENT_INITIATED) showBanner(disconnectMessage(reason));
    })
    .on(RoomEvent.ParticipantConnected, (participant) => {
      if (isAgent(participant)) agentArrived(participant);
    })
    .on(RoomEvent.ParticipantDisconnected, (participant) => {
      if (!isAgent(participant)) return;
      setAgentState('offline');
      transcript.add('system', 'The assistant left the conversation.');
    })
    .on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
      const state = changed[AGENT_STATE_ATTRIBUTE];
      if (state !== undefined && participant !== current.localParticipant) {
        window.clearTimeout(agentJoinTimer);
        setAgentState(state as AgentState);
      }
    })
    .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, publication, participant) => {
      if (track.kind !== Track.Kind.Audio) return;
      const element = track.attach();
      element.dataset['participant'] = participant.identity;
      ui.audioSink.append(element);
      if (isAgent(participant) && publication.trackSid) {
        agentMeter?.meter.stop();
        const meter = new LevelMeter(ensureAudioContext(), track.mediaStreamTrack, (level) => {
          setLevel(ui.agentLevel, level);
          ui.orb.style.setProperty('--level', level.toFixed(3));
        });
        agentMeter = { meter, trackSid: publication.trackSid };
      }
    })
    .on(RoomEvent.TrackUnsubscribed, (track, publication) => {
      for (const element of track.detach()) element.remove();
      if (agentMeter && agentMeter.trackSid === publication.trackSid) {
        agentMeter.meter.stop();
        agentMeter = undefined;
      }
    })
    .on(RoomEvent.LocalTrackPublished, (publication) => {
      if (publication.source === Track.Source.Microphone) startMicMeter(publication);
    })
    .on(RoomEvent.TrackMuted, (publication, participant) => {
      if (participant === current.localParticipant && publication.source === Track.Source.Microphone) setMicButton(false);
    })
    .on(RoomEvent.TrackUnmuted, (publication, participant) => {
      if (participant === current.localParticipant && publication.source === Track.Source.Microphone) setMicButton(true);
    })
    .on(RoomEvent.AudioPlaybackStatusChanged, () => {
      ui.startAudio.hidden = current.canPlaybackAudio;
    })
    .on(RoomEvent.MediaDevicesError, (error) => showBanner(describeMicrophoneError(error)));

  current.registerTextStreamHandler(TRANSCRIPTION_TOPIC, (reader, sender) => {
    readTranscription(reader, sender).catch(() => {
      // A stream cut short (sender left mid-sentence) keeps the text received so far.
    });
  });
}

function voiceFromUrl(): string | undefined {
  const voice = new URLSearchParams(window.location.search).get('voice');
  return voice && /^[\w.-]{1,64}$/.test(voice) ? voice : undefined;
}

async function connect(): Promise<void> {
  hideBanner();
  userDisconnected = false;
  setConnection('connecting');
  ensureAudioContext(); // created inside the click so the browser lets it play
  const current = new Room({
    audioCaptureDefaults: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  try {
    const voice = voiceFromUrl();
    const details = await fetchConnectionDetails(voice ? { voice } : {});
    room = current;
    wireRoom(current);
    await current.connect(details.serverUrl, details.participantToken);
  } catch (error) {
    if (room === current) room = undefined;
    await current.disconnect().catch(() => undefined);
    resetCallView();
    setConnection('error');
    showBanner(describeConnectionError(error));
    return;
  }
  setConnection('connected');
  transcript.clear();
  void current.startAudio().catch(() => undefined);
  ui.startAudio.hidden = current.canPlaybackAudio;

  const agent = [...current.remoteParticipants.values()].find(isAgent);
  if (agent) agentArrived(agent);
  else {
    setAgentState('waiting');
    agentJoinTimer = window.setTimeout(() => {
      showBanner('The assistant has not joined yet. It may be busy or not running; you can wait or press Disconnect and try again.', 'warning');
    }, AGENT_JOIN_WARNING_MS);
  }
  await enableMicrophone(current);
}

async function disconnect(): Promise<void> {
  userDisconnected = true;
  const current = room;
  room = undefined;
  resetCallView();
  setConnection('disconnected');
  await current?.disconnect();
}

// ---------- controls

ui.connect.addEventListener('click', () => {
  if (room) void disconnect();
  else void connect();
});

ui.mic.addEventListener('click', () => {
  const current = room;
  if (!current) return;
  const enable = !current.localParticipant.isMicrophoneEnabled;
  if (enable) {
    void enableMicrophone(current);
  } else {
    current.localParticipant.setMicrophoneEnabled(false).then(
      () => setMicButton(false),
      (error: unknown) => showBanner(describeMicrophoneError(error)),
    );
  }
});

ui.startAudio.addEventListener('click', () => {
  ensureAudioContext();
  void room?.startAudio().then(() => {
    ui.startAudio.hidden = room?.canPlaybackAudio ?? true;
  });
});

ui.chat.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.chatInput.value.trim();
  const current = room;
  if (!text || !current) return;
  ui.chatInput.value = '';
  transcript.add('user', text);
  current.localParticipant.sendText(text, { topic: CHAT_TOPIC }).catch(() => {
    showBanner('The message could not be sent. Check the connection and try again.');
  });
});

ui.bannerClose.addEventListener('click', hideBanner);
window.addEventListener('pagehide', () => void room?.disconnect());

setConnection('disconnected');
setAgentState('offline');
