import { setLogLevel } from 'livekit-client';
import { loadAssistantChoice } from './assistants.js';
import { ensureAudioContext } from './audio-meters.js';
import { describeMicrophoneError } from './errors.js';
import { connect, currentRoom, disconnect, enableMicrophone } from './room.js';
import { hideBanner, setAgentState, setConnection, setMicButton, showBanner, transcript, ui } from './view.js';

// livekit-client logs signalling URLs (with the access token) at info level.
setLogLevel('warn');

const CHAT_TOPIC = 'lk.chat';

ui.connect.addEventListener('click', () => {
  if (currentRoom()) void disconnect();
  else void connect();
});

ui.mic.addEventListener('click', () => {
  const current = currentRoom();
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
  void currentRoom()
    ?.startAudio()
    .then(() => {
      ui.startAudio.hidden = currentRoom()?.canPlaybackAudio ?? true;
    });
});

ui.chat.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.chatInput.value.trim();
  const current = currentRoom();
  if (!text || !current) return;
  ui.chatInput.value = '';
  transcript.add('user', text);
  current.localParticipant.sendText(text, { topic: CHAT_TOPIC }).catch(() => {
    showBanner('The message could not be sent. Check the connection and try again.');
  });
});

ui.bannerClose.addEventListener('click', hideBanner);
window.addEventListener('pagehide', () => void currentRoom()?.disconnect());

setConnection('disconnected');
setAgentState('offline');
void loadAssistantChoice();
