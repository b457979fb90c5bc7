/**
 * Command-line client of the legacy WebSocket server: each line typed (or piped) is spoken.
 *   npm run cli -- --url ws://127.0.0.1:8080 [--say "text"] [--out speech.wav] [--voice NAME] [--speed X]
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { LegacyClient, type ReceivedFrame, type ServerMessage } from '../legacy/client.js';
import { findPlayer, PLAYERS, RealtimePlayer } from './player.js';
import { WavFileWriter } from '../audio/index.js';

const HELP = `Usage: npm run cli -- [options]

Speaks each line you type through the legacy WebSocket server.

Options:
  --url URL        server address (default ws://127.0.0.1:8080)
  --token TOKEN    access token, when the server requires one (or set LEGACY_AUTH_TOKEN)
  --say TEXT       speak TEXT once and exit
  --out FILE.wav   write the audio to a WAV file (48 kHz mono) instead of playing it
  --play           play audio even when --out is given
  --player NAME    audio player: ${Object.keys(PLAYERS).join(', ')} (default: the first one installed)
  --voice NAME     voice for this session
  --speed X        speaking rate (0.25 to 4, 1 = normal)
  --quiet          print only errors
  -h, --help       show this help

Commands at the prompt:
  /pause  /resume  /stop  /voice NAME  /speed X  /help  /quit`;

const COMMANDS_HELP = `/pause         pause the audio (the server stops sending)
/resume        continue where it paused
/stop          cancel what is being spoken and everything queued
/voice NAME    use another voice for the next lines
/speed X       speaking rate for the next lines (0.25 to 4)
/help          this list
/quit          leave`;

interface Pending {
  id: string;
  sentAt: number;
  firstAudioAt?: number;
  frames: number;
  done: Promise<void>;
  resolve(): void;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        url: { type: 'string', default: 'ws://127.0.0.1:8080' },
        token: { type: 'string' },
        say: { type: 'string' },
        out: { type: 'string' },
        play: { type: 'boolean', default: false },
        player: { type: 'string' },
        voice: { type: 'string' },
        speed: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const info = (line: string) => {
    if (!args.quiet) process.stdout.write(`${line}\n`);
  };
  const warn = (line: string) => process.stderr.write(`${line}\n`);
  const speed = args.speed !== undefined ? Number(args.speed) : undefined;
  if (speed !== undefined && !(speed >= 0.25 && speed <= 4)) {
    warn('--speed must be a number between 0.25 and 4');
    return 2;
  }
  if (args.say !== undefined && args.say.trim().length === 0) {
    warn('--say needs some text');
    return 2;
  }

  let client: LegacyClient;
  try {
    // the environment is read here on purpose: this is a stand-alone client, not the service
    client = await LegacyClient.connect(args.url, { token: args.token ?? process.env['LEGACY_AUTH_TOKEN'] });
  } catch (err) {
    warn(`${(err as Error).message}\nIs the server running? Start it with: ORCHESTRATOR_MODE=legacy npm start`);
    return 1;
  }
  client.retainFrames = false;
  info(`connected to ${args.url} (session ${client.sessionId})`);

  const wav = args.out ? new WavFileWriter(args.out, 48_000) : undefined;
  let player: RealtimePlayer | undefined;
  if (!wav || args.play) {
    const name = findPlayer(process.env['PATH'], args.player);
    if (name) player = new RealtimePlayer(name, (message) => warn(`audio playback stopped: ${message}`));
    else warn(`no audio player found (${Object.keys(PLAYERS).join(', ')}); use --out FILE.wav to save the audio`);
  }

  const pending = new Map<string, Pending>();
  let counter = 0;
  let quitting = false;
  let current: Pending | undefined;

  client.send({ type: 'configure', utterance_events: true, ...(args.voice ? { voice: args.voice } : {}), ...(speed ? { speed } : {}) });

  client.on('frame', (frame: ReceivedFrame) => {
    wav?.write(frame.pcm);
    player?.enqueue(frame.pcm);
    if (current) {
      current.frames++;
      if (current.firstAudioAt === undefined) {
        current.firstAudioAt = frame.receivedAt;
        info(`  first audio after ${Math.round(frame.receivedAt - current.sentAt)} ms`);
      }
    }
  });
  client.on('message', (message: ServerMessage) => {
    switch (message.type) {
      case 'utterance_start':
        current = pending.get(String(message['utterance_id']));
        break;
      case 'utterance_end': {
        const done = pending.get(String(message['utterance_id']));
        if (done) {
          const reason = String(message['reason']);
          info(`  ${reason === 'completed' ? 'done' : reason}: ${((Number(message['frames']) * 20) / 1000).toFixed(2)} s of audio`);
          pending.delete(done.id);
          if (current === done) current = undefined;
          done.resolve();
        }
        break;
      }
      case 'control_ack':
        info(`  ${String(message['command']).toLowerCase()}: ${String(message['state'])}`);
        break;
      case 'configured':
        info(`  voice ${message['voice'] ?? 'default'}, speed ${message['speed'] ?? 1}`);
        break;
      case 'error':
        warn(`server error ${String(message['code'])}: ${String(message['message'])}`);
        if (message['utterance_id'] === undefined && pending.size > 0 && ['QUEUE_FULL', 'TEXT_TOO_LONG', 'RATE_LIMITED'].includes(String(message['code']))) {
          // the newest text was refused: nobody will end it
          const newest = [...pending.values()].at(-1);
          if (newest) {
            pending.delete(newest.id);
            newest.resolve();
          }
        }
        break;
    }
  });

  const serverGone = new Promise<number>((resolve) => {
    client.once('close', (closeInfo: { code: number; reason: string }) => {
      if (quitting) return resolve(0);
      warn(`the server closed the connection (${closeInfo.code}${closeInfo.reason ? ` ${closeInfo.reason}` : ''})`);
      for (const p of pending.values()) p.resolve();
      resolve(1);
    });
  });

  const speak = (text: string): Pending => {
    const id = `cli-${++counter}`;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const entry: Pending = { id, sentAt: performance.now(), frames: 0, done, resolve };
    pending.set(id, entry);
    client.say(text, { utterance_id: id });
    return entry;
  };

  const finish = async (code: number): Promise<number> => {
    quitting = true;
    client.close();
    await client.closed(3000).catch(() => client.terminate());
    if (player) await Promise.race([player.finish(), new Promise((r) => setTimeout(r, 30_000))]);
    player?.kill();
    if (wav) {
      wav.close();
      info(`wrote ${wav.seconds.toFixed(2)} s of audio to ${args.out}`);
    }
    return code;
  };

  if (args.say !== undefined) {
    const entry = speak(args.say);
    const outcome = await Promise.race([entry.done.then(() => 0), serverGone]);
    return finish(outcome);
  }

  const interactive = process.stdin.isTTY === true;
  const lines = createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, terminal: interactive });
  if (interactive) {
    info('type text to speak it; /help lists commands');
    lines.setPrompt('> ');
    lines.prompt();
  }
  let exitCode: number | undefined;
  void serverGone.then((code) => {
    if (!quitting) {
      exitCode = code;
      lines.close();
    }
  });

  for await (const raw of lines) {
    const line = raw.trim();
    if (line.length > 0) {
      if (line.startsWith('/')) {
        const [command, ...rest] = line.split(/\s+/);
        const argument = rest.join(' ');
        if (command === '/quit' || command === '/exit') break;
        else if (command === '/help') info(COMMANDS_HELP);
        else if (command === '/pause') {
          player?.pause();
          client.control('PAUSE');
        } else if (command === '/resume') {
          player?.resume();
          client.control('RESUME');
        } else if (command === '/stop') {
          player?.clear();
          player?.resume();
          client.control('STOP');
        } else if (command === '/voice' && argument) client.send({ type: 'configure', voice: argument });
        else if (command === '/speed' && Number(argument) >= 0.25 && Number(argument) <= 4) client.send({ type: 'configure', speed: Number(argument) });
        else warn(`unknown or incomplete command ${JSON.stringify(line)}; /help lists commands`);
      } else if (client.open) {
        const entry = speak(line);
        // piped input is spoken line after line; at a terminal the user may type while it speaks
        if (!interactive) await Promise.race([entry.done, serverGone]);
      }
    }
    if (exitCode !== undefined) break;
    if (interactive) lines.prompt();
  }
  if (exitCode !== undefined) return finish(exitCode);
  // end of input: let what was asked for finish speaking
  await Promise.race([Promise.all([...pending.values()].map((p) => p.done)), serverGone]);
  return finish(exitCode ?? 0);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`cli failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
