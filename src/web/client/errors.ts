import { ConnectionError, MediaDeviceFailure } from 'livekit-client';

/** Turns a getUserMedia / track publication failure into a sentence a person can act on. */
export function describeMicrophoneError(error: unknown): string {
  if (!window.isSecureContext || !navigator.mediaDevices) {
    return 'This page cannot use a microphone because it is not served over HTTPS (or from localhost). Open it through https:// and try again.';
  }
  switch (MediaDeviceFailure.getFailure(error)) {
    case MediaDeviceFailure.PermissionDenied:
      return 'Microphone access was blocked. Allow the microphone for this site (the icon in the address bar or the site settings), then press Connect again. You can still type messages.';
    case MediaDeviceFailure.NotFound:
      return 'No microphone was found. Plug one in or enable it in your system settings, then press Connect again. You can still type messages.';
    case MediaDeviceFailure.DeviceInUse:
      return 'The microphone is busy or could not be opened: another application may be using it. Close it and press Connect again.';
    default: {
      const name = error instanceof Error ? error.name : '';
      if (name === 'OverconstrainedError')
        return 'The selected microphone is not available any more. Choose another one in your system settings and try again.';
      return `The microphone could not be started (${error instanceof Error ? error.message : String(error)}).`;
    }
  }
}

/** Explains why joining the room failed. */
export function describeConnectionError(error: unknown): string {
  if (error instanceof TokenError) return error.message;
  if (error instanceof ConnectionError) {
    if (error.status === 401 || error.status === 403)
      return 'The voice server refused the access token. Its API key or secret may not match the server configuration.';
    return `Could not reach the voice server (${error.message}). Check your network; if it persists, the server may be down.`;
  }
  if (error instanceof TypeError) return 'Could not reach this site to get an access token. Check your network connection.';
  return `Could not connect: ${error instanceof Error ? error.message : String(error)}`;
}

/** The token endpoint answered with an error; the message comes from the server. */
export class TokenError extends Error {}
