import {
  ConnectionState,
  DisconnectReason,
  type Participant,
  ParticipantKind,
  type RemoteParticipant,
  type RemoteTrack,
  Room,
  RoomEvent,
  type TextStreamReader,
  Track,
} from 'livekit-client';
import { ensureAudioContext, startAgentMeter, startMicMeter, stopAgentMeter, stopMeters } from './audio-meters.js';
import { describeConnectionError, describeMicrophoneError } from './errors.js';
import { chosenAssistant, loadAssistantChoice } from './assistants.js';
import { fetchConnectionDetails } from './token-client.js';
import { type AgentState, hideBanner, setAgentState, setConnection, setMicButton, showBanner, showModels, transcript, ui } from './view.js';

const AGENT_STATE_ATTRIBUTE = 'lk.agent.state';
/** Set by our agent: the models and voice it answers with. */
const AGENT_MODELS_ATTRIBUTE = 'vo.models';
const TRANSCRIPTION_TOPIC = 'lk.transcription';
const AGENT_JOIN_WARNING_MS = 20_000;

let room: Room | undefined;
let agentJoinTimer: number | undefined;
let userDisconnected = false;

/** The room of the call in progress, if any. */
export function currentRoom(): Room | undefined {
  return room;
}

export async function enableMicrophone(current: Room): Promise<void> {
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
  showModels(participant.attributes[AGENT_MODELS_ATTRIBUTE]);
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

function resetCallView(): void {
  window.clearTimeout(agentJoinTimer);
  stopMeters();
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
      showModels(undefined);
      transcript.add('system', 'The assistant left the conversation.');
    })
    .on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
      if (participant === current.localParticipant) return;
      const state = changed[AGENT_STATE_ATTRIBUTE];
      if (state !== undefined) {
        window.clearTimeout(agentJoinTimer);
        setAgentState(state as AgentState);
      }
      if (changed[AGENT_MODELS_ATTRIBUTE] !== undefined) showModels(changed[AGENT_MODELS_ATTRIBUTE]);
    })
    .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, publication, participant) => {
      if (track.kind !== Track.Kind.Audio) return;
      const element = track.attach();
      element.dataset['participant'] = participant.identity;
      ui.audioSink.append(element);
      if (isAgent(participant) && publication.trackSid) startAgentMeter(track.mediaStreamTrack, publication.trackSid);
    })
    .on(RoomEvent.TrackUnsubscribed, (track, publication) => {
      for (const element of track.detach()) element.remove();
      stopAgentMeter(publication.trackSid);
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

export async function connect(): Promise<void> {
  hideBanner();
  userDisconnected = false;
  setConnection('connecting');
  ensureAudioContext(); // created inside the click so the browser lets it play
  const current = new Room({
    audioCaptureDefaults: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  try {
    const voice = voiceFromUrl();
    const assistant = chosenAssistant();
    const details = await fetchConnectionDetails({ ...(voice ? { voice } : {}), ...(assistant ? { assistant } : {}) });
    room = current;
    wireRoom(current);
    await current.connect(details.serverUrl, details.participantToken);
  } catch (error) {
    if (room === current) room = undefined;
    await current.disconnect().catch(() => undefined);
    resetCallView();
    setConnection('error');
    showBanner(describeConnectionError(error));
    void loadAssistantChoice();
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

export async function disconnect(): Promise<void> {
  userDisconnected = true;
  const current = room;
  room = undefined;
  resetCallView();
  setConnection('disconnected');
  void loadAssistantChoice();
  await current?.disconnect();
}
