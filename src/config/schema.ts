import type { z } from 'zod';
import { bool, boolOrAuto, host, int, list, modelFile, number, oneOf, optional, port, portOrZero, text, token, url } from './fields.js';

export const MODES = ['agent', 'legacy', 'hybrid', 'models'] as const;
export type Mode = (typeof MODES)[number];
export const PROVIDER_CHOICES = ['auto', 'local', 'openai', 'none'] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];

interface VarSpec {
  schema: z.ZodType;
  /** Default applied when no layer sets the variable; undefined = optional. Mirrored in .env.defaults. */
  default?: string;
  doc: string;
  /** Masked in config:check and redacted from logs. */
  secret?: boolean;
}

/**
 * Every environment variable the service reads, in one place: name, parser, default and doc.
 * The README table and `.env.defaults` are checked against this list by tests.
 */
export const VARIABLES = {
  // --- core
  ORCHESTRATOR_MODE: {
    schema: oneOf(MODES),
    default: 'agent',
    doc: 'What runs: `agent` (LiveKit worker + web page), `legacy` (WebSocket TTS server), `hybrid` (both), `models` (only the local speech-to-text and language model servers, for other orchestrators to share).',
  },
  LOG_LEVEL: { schema: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', doc: 'pino log level.' },
  LOG_FORMAT: { schema: oneOf(['json', 'pretty']), default: 'json', doc: '`json` (one object per line) or `pretty` (human-readable; `just dev*` sets it).' },
  HEALTH_HOST: {
    schema: host(),
    default: '127.0.0.1',
    doc: 'Bind address of the ops HTTP server (`/health`, `/ready`, `/metrics`, `/status`); `0.0.0.0` to reach it from other machines (the container image sets it).',
  },
  HEALTH_PORT: { schema: portOrZero(), default: '8081', doc: 'Port of the ops HTTP server (0 = ephemeral).' },
  SHUTDOWN_TIMEOUT_MS: {
    schema: int(0, 600_000),
    default: '10000',
    doc: 'On SIGTERM/SIGINT, how long work in flight may take to finish before the process exits anyway.',
  },

  // --- text-to-speech (Piper)
  VOICES_DIR: {
    schema: text(),
    default: 'voices',
    doc: 'Folder holding Piper voices (`NAME.onnx` + `NAME.onnx.json`); relative paths are resolved from the working directory.',
  },
  TTS_VOICE: { schema: text().pipe(textNonEmpty()), default: 'en_US-lessac-medium', doc: 'Default Piper voice name.' },
  TTS_MAX_VOICES: {
    schema: int(1, 64),
    default: '2',
    doc: 'Most voices kept loaded at once (least recently used is unloaded; TTS_VOICE and voices in use are never unloaded).',
  },
  TTS_WARMUP: { schema: bool(), default: 'true', doc: 'Synthesize a short phrase at start so the first request is not cold.' },
  TTS_INTRA_OP_THREADS: { schema: int(0, 64), default: '0', doc: 'onnxruntime intra-op threads per voice (0 = runtime default).' },
  TTS_THREAD_SPINNING: {
    schema: boolOrAuto(),
    default: 'auto',
    doc: 'onnxruntime pool threads busy-wait during an inference: faster on cores free for speech, slower on busy ones. `auto`: on in legacy mode (a speech server alone), off where conversations or local models share the cores (agent, hybrid and models modes).',
  },
  TTS_DENSE_SPLINES: {
    schema: bool(),
    default: 'true',
    doc: "Load each voice with its duration predictor's splines computed on every value instead of through masks (rewritten at load, in about 0.2 s): about 740 fewer of the 2,500 nodes onnxruntime runs per inference; the same durations (within float rounding), so the same audio. `false` leaves them as they are.",
  },
  TTS_DENSE_ATTENTION: {
    schema: bool(),
    default: 'true',
    doc: "Load each voice with its text encoder's relative-position attention computed through one position map per layer instead of pads, reshapes and slices (rewritten at load, in about 0.1 s): about 330 fewer nodes in onnxruntime's optimized graph, about 1 % faster inference; the same values within float rounding, so the same audio. `false` leaves it as it is.",
  },
  TTS_FUSE_LAYER_NORMS: {
    schema: bool(),
    default: 'true',
    doc: 'Load each voice with its spelled-out layer normalizations fused into single nodes (rewritten at load, in about 0.2 s): 1-4 % faster inference, about 5 % with TTS_WIDE_CONVOLUTIONS; audio within a step or two of the 16-bit output. `false` leaves them as they are.',
  },
  TTS_WIDE_CONVOLUTIONS: {
    schema: bool(),
    default: 'true',
    doc: 'Load each voice with its 1-D convolutions of 128 channels or more run as 2-D ones (rewritten at load, in about 0.3 s; about 50 MB more memory per loaded voice): 2-4 % faster inference, about 5 % with TTS_FUSE_LAYER_NORMS; audio within a step of the 16-bit output. `false` leaves them 1-D.',
  },
  TTS_PARALLEL_DECODER: {
    schema: bool(),
    default: 'true',
    doc: "Run each voice's decoder from its second upsampler on as overlapping time slices, one per intra-op thread (at most 4), each on its own thread, instead of one inference on the intra-op pool (the model is cut in two at load, in about 0.1 s; one helper thread per extra slice; about 20 MB more memory per loaded voice): 3-5 % faster inference on 2 cores; the same audio. `false`, or one intra-op thread, runs the model whole.",
  },
  TTS_MAX_PHONEMES_PER_CHUNK: {
    schema: int(50, 5000),
    default: '200',
    doc: "Most phonemes in one inference (about 5 s of speech): a longer sentence is cut at clause, else word boundaries. Bounds how long one client's text can hold the engine before another client's first audio.",
  },
  TTS_MAX_LENGTH_SCALE: { schema: number(1, 20), default: '4', doc: 'Slowest speech allowed: a larger length scale (speed below 1/this) is clamped to it.' },
  ESPEAK_LIBRARY: { schema: optional(text()), doc: 'Path of `libespeak-ng.so.1` when it is not on the default library path.' },
  ESPEAK_DATA_PATH: { schema: optional(text()), doc: 'Folder containing `espeak-ng-data` when not the system default.' },
  VOICES_BASE_URL: {
    schema: url(['https', 'http']),
    default: 'https://huggingface.co/rhasspy/piper-voices/resolve/main',
    doc: 'Where `voices download` fetches public Piper voices from.',
  },

  // --- legacy WebSocket server
  LEGACY_HOST: {
    schema: host(),
    default: '127.0.0.1',
    doc: 'Bind address of the legacy WebSocket server; any other than a loopback address needs LEGACY_AUTH_TOKEN (or LEGACY_ALLOW_ANONYMOUS=true).',
  },
  LEGACY_PORT: { schema: portOrZero(), default: '8080', doc: 'Port of the legacy WebSocket server (0 = ephemeral).' },
  LEGACY_AUTH_TOKEN: {
    schema: token(16),
    secret: true,
    doc: 'When set, clients must send it as `Authorization: Bearer TOKEN` or `?token=TOKEN`; at least 16 visible characters.',
  },
  LEGACY_ALLOW_ANONYMOUS: {
    schema: bool(),
    default: 'false',
    doc: 'Allow the legacy server on a non-loopback LEGACY_HOST without LEGACY_AUTH_TOKEN (anyone who reaches the port can use it).',
  },
  LEGACY_ALLOWED_ORIGINS: { schema: list(), default: '', doc: 'Comma-separated allowed `Origin` values for browser clients; empty = any.' },
  LEGACY_MAX_CONNECTIONS: { schema: int(1, 100_000), default: '100', doc: 'Most concurrent WebSocket connections; more are refused with a reason.' },
  LEGACY_MAX_MESSAGE_BYTES: { schema: int(64, 16 * 1024 * 1024), default: '65536', doc: 'Largest client message accepted.' },
  LEGACY_MAX_TEXT_CHARS: { schema: int(1, 1_000_000), default: '5000', doc: 'Longest `text` accepted in one message.' },
  LEGACY_MAX_QUEUED_TEXTS: { schema: int(1, 10_000), default: '16', doc: 'Most texts waiting per session behind the one being spoken.' },
  LEGACY_RATE_LIMIT_PER_SEC: { schema: number(0.1, 100_000), default: '20', doc: 'Messages per second a connection may send (token bucket).' },
  LEGACY_RATE_LIMIT_BURST: { schema: int(1, 100_000), default: '40', doc: 'Burst size of the per-connection rate limit.' },
  LEGACY_CONTROL_RATE_LIMIT_PER_SEC: {
    schema: number(0.1, 100_000),
    default: '50',
    doc: 'PAUSE/RESUME/STOP and ping messages per second a connection may send: their own budget, so a text flood never blocks them.',
  },
  LEGACY_CONTROL_RATE_LIMIT_BURST: { schema: int(1, 100_000), default: '100', doc: 'Burst size of the control-message budget.' },
  LEGACY_IDLE_TIMEOUT_MS: {
    schema: int(1000, 86_400_000),
    default: '300000',
    doc: 'A session with no client message and no audio in flight for this long is closed.',
  },
  LEGACY_MAX_SESSION_MS: { schema: int(1000, 86_400_000), default: '3600000', doc: 'Longest a session may last.' },
  LEGACY_SEND_HIGH_WATER_BYTES: {
    schema: int(4096, 256 * 1024 * 1024),
    default: '524288',
    doc: 'Backpressure: while more than this many bytes wait to be sent to a client, no further audio frame is produced for it.',
  },
  LEGACY_SLOW_CONSUMER_TIMEOUT_MS: {
    schema: int(100, 3_600_000),
    default: '15000',
    doc: 'A client held at the high-water mark that reads nothing for this long is cut off with `SLOW_CONSUMER`.',
  },
  LEGACY_SEND_BUFFER_BYTES: {
    schema: int(65_536, 1024 * 1024 * 1024),
    default: '8388608',
    doc: 'Hard cap on unsent bytes for one client (control replies included); beyond it the session ends at once with `SLOW_CONSUMER`.',
  },
  LEGACY_PACING: {
    schema: oneOf(['none', 'realtime']),
    default: 'none',
    doc: '`none`: send audio as fast as the client reads: backpressure above LEGACY_SEND_HIGH_WATER_BYTES; `realtime`: one 20 ms frame every 20 ms (same backpressure).',
  },

  // --- OpenAI speech API (on LEGACY_PORT, legacy and hybrid modes)
  OPENAI_VOICE_MAP: {
    schema: list()
      .refine(
        (pairs) => pairs.every((p) => /^[A-Za-z0-9_.-]{1,64}:[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/.test(p)),
        'comma-separated NAME:VOICE pairs, e.g. alloy:en_US-joe-medium',
      )
      .transform((pairs) => Object.fromEntries(pairs.map((p) => p.split(':') as [string, string])) as Readonly<Record<string, string>>),
    default: '',
    doc: 'OpenAI voice names (`alloy`, `nova`, ...) mapped to installed Piper voices for `POST /v1/audio/speech`, e.g. `alloy:en_US-joe-medium,nova:en_US-amy-medium`; OpenAI voice names not listed speak with TTS_VOICE, installed Piper voice names are accepted as they are.',
  },
  OPENAI_MAX_CONCURRENT_REQUESTS: {
    schema: int(1, 10_000),
    default: '16',
    doc: 'Most `POST /v1/audio/speech` requests served at once; more are refused with 503 and `Retry-After` (all share the one engine through the scheduler either way).',
  },
  OPENAI_RATE_LIMIT_PER_MIN: {
    schema: int(1, 1_000_000),
    default: '120',
    doc: 'OpenAI API requests per minute allowed from one client address (token bucket with that burst); more are refused with 429.',
  },

  // --- Wyoming TTS server (Home Assistant), legacy and hybrid modes
  WYOMING_ENABLED: {
    schema: bool(),
    default: 'true',
    doc: 'Serve the Wyoming text-to-speech protocol (Home Assistant) on WYOMING_PORT in legacy and hybrid modes (`false` turns it off).',
  },
  WYOMING_HOST: {
    schema: host(),
    default: '127.0.0.1',
    doc: 'Bind address of the Wyoming server. The protocol has no authentication: bind a non-loopback address only on a network you trust.',
  },
  WYOMING_PORT: { schema: portOrZero(), default: '10200', doc: 'Port of the Wyoming server (0 = ephemeral).' },
  WYOMING_MAX_CONNECTIONS: { schema: int(1, 10_000), default: '16', doc: 'Most concurrent Wyoming connections; more get an `error` event and are closed.' },
  WYOMING_IDLE_TIMEOUT_MS: {
    schema: int(1000, 86_400_000),
    default: '60000',
    doc: 'A Wyoming connection that sends nothing and has no audio in flight for this long is closed.',
  },
  WYOMING_MAX_HEADER_BYTES: {
    schema: int(256, 16 * 1024 * 1024),
    default: '65536',
    doc: 'Longest Wyoming event header line (JSON, data inline included); a longer one gets an `error` event and the connection is closed.',
  },
  WYOMING_MAX_DATA_BYTES: {
    schema: int(256, 16 * 1024 * 1024),
    default: '65536',
    doc: 'Largest `data_length` of a Wyoming event; larger ones get an `error` event and the connection is closed.',
  },
  WYOMING_MAX_PAYLOAD_BYTES: {
    schema: int(0, 64 * 1024 * 1024),
    default: '65536',
    doc: 'Largest `payload_length` of a Wyoming event (text-to-speech clients send none; payloads are read and dropped); larger ones get an `error` event and the connection is closed.',
  },
  WYOMING_RATE_LIMIT_PER_SEC: {
    schema: number(0.1, 100_000),
    default: '200',
    doc: 'Wyoming events per second a connection may send (token bucket; a streamed text arrives as many `synthesize-chunk` events); more get an `error` event and are dropped.',
  },
  WYOMING_RATE_LIMIT_BURST: { schema: int(1, 100_000), default: '400', doc: 'Burst size of the per-connection Wyoming event rate limit.' },

  // --- agent (LiveKit)
  LIVEKIT_URL: { schema: url(['ws', 'wss', 'http', 'https']), default: 'ws://127.0.0.1:7880', doc: 'LiveKit server the worker registers with.' },
  LIVEKIT_API_KEY: { schema: text(), default: 'devkey', doc: 'LiveKit API key (the default matches `livekit-server --dev`).' },
  LIVEKIT_API_SECRET: {
    schema: text(),
    default: 'secret',
    secret: true,
    doc: 'LiveKit API secret (the default matches `livekit-server --dev`; that public dev secret is refused unless LIVEKIT_URL is a loopback address).',
  },
  AGENT_NAME: { schema: text().pipe(textNonEmpty()), default: 'voice-assistant', doc: 'Name the worker registers under (explicit dispatch).' },
  AGENT_HEALTH_PORT: { schema: portOrZero(), default: '8082', doc: "Port of the LiveKit framework's own worker health server (kept apart from HEALTH_PORT)." },
  AGENT_INSTRUCTIONS: {
    schema: text(),
    default: 'You are a friendly voice assistant. Always answer in English, briefly, in one or two plain spoken sentences, without lists or markup.',
    doc: 'System instructions for the LLM.',
  },
  AGENT_INSTRUCTIONS_FILE: { schema: optional(text()), doc: 'File whose content replaces AGENT_INSTRUCTIONS.' },
  AGENT_GREETING: { schema: text(), default: 'Hello! How can I help you today?', doc: 'Spoken when a user joins (empty = no greeting).' },
  ASSISTANTS_FILE: {
    schema: optional(text()),
    doc: 'JSON or YAML file of several assistants (each with its own name, instructions, greeting, voice and model profiles with fallbacks), reloaded when it changes or on SIGHUP; `~` and relative paths (from the working directory) are resolved; unset = the single assistant of the AGENT_* variables. `npm run assistants -- init` writes a template.',
  },
  LLM_PROVIDER: {
    schema: oneOf(PROVIDER_CHOICES),
    default: 'auto',
    doc: '`local` (the built-in local model, see LOCAL_LLM_MODEL), `openai` (OpenAI, or the OpenAI-compatible server at LLM_BASE_URL), `none` (the agent says no language model is configured), or `auto`: `openai` when OPENAI_API_KEY or LLM_BASE_URL is set, else `local`.',
  },
  STT_PROVIDER: {
    schema: oneOf(PROVIDER_CHOICES),
    default: 'auto',
    doc: '`local` (the built-in speech-to-text model, see LOCAL_STT_MODEL), `openai` (OpenAI, or the server at STT_BASE_URL), `none` (typed chat only), or `auto`: `openai` when OPENAI_API_KEY or STT_BASE_URL is set, else `local`.',
  },
  OPENAI_API_KEY: { schema: optional(text()), secret: true, doc: 'API key for the OpenAI (or compatible) STT and LLM.' },
  LLM_MODEL: { schema: text().pipe(textNonEmpty()), default: 'gpt-4.1-mini', doc: 'Chat model name.' },
  LLM_BASE_URL: { schema: optional(url(['http', 'https'])), doc: 'OpenAI-compatible chat server (e.g. http://127.0.0.1:8000/v1); unset = OpenAI.' },
  STT_MODEL: { schema: text().pipe(textNonEmpty()), default: 'whisper-1', doc: 'Speech-to-text model name.' },
  STT_BASE_URL: { schema: optional(url(['http', 'https'])), doc: 'OpenAI-compatible transcription server; unset = OpenAI.' },
  STT_LANGUAGE: { schema: text(), default: 'en', doc: 'Language hint for speech-to-text.' },
  AGENT_PROVIDER_TIMEOUT_MS: {
    schema: int(500, 120_000),
    default: '8000',
    doc: 'Longest the agent waits for a speech-to-text result or for the next LLM token before apologising to the user.',
  },
  AGENT_VAD_MIN_SILENCE_MS: {
    schema: int(100, 3000),
    default: '400',
    doc: 'Silence (Silero VAD) that ends an utterance; shorter answers sooner but may cut a user who pauses mid-sentence.',
  },
  AGENT_EARLY_TRANSCRIPTION_MS: {
    schema: int(0, 3000),
    default: '64',
    doc: 'Silence inside an utterance after which the speech so far is already transcribed, before AGENT_VAD_MIN_SILENCE_MS ends it; the transcript is used when the user says nothing more, and each pause the user speaks through doubles it for the rest of the utterance (0 = transcribe only at the end of the utterance).',
  },
  AGENT_ENDPOINTING_DELAY_MS: {
    schema: int(0, 5000),
    default: '300',
    doc: 'After the end of an utterance, how long the agent waits for more speech before it commits the turn (the transcript is awaited in parallel).',
  },
  AGENT_PREEMPTIVE_GENERATION: {
    schema: bool(),
    default: 'true',
    doc: "Start the reply (LLM, then TTS) on the transcript of the user's first pause, while the VAD waits for the end of the utterance; it plays once the turn is committed with the same words, and is thrown away when the user goes on (false: one LLM request per turn, started at the commit).",
  },
  AGENT_INTERRUPT_MIN_MS: {
    schema: int(50, 2000),
    default: '64',
    doc: 'How long the user must be heard over the agent before it stops speaking: shorter stops sooner, longer ignores coughs. The VAD hears speech in 32 ms windows and starts speech after 2; 64 stops at the window after that (96 ms of speech), 100 at the 4th (128 ms).',
  },
  AGENT_JOB_SEMI_SPACE_MB: {
    schema: int(0, 64),
    default: '8',
    doc: "V8 young-generation semi-space of each job process, in MB. Rooms share it: 8 halved garbage-collection time in a host of 4 rooms against 2 (measured), at no measurable memory per room; Node's default (16) would make every process up to 16 MB larger. 0 = Node's default.",
  },
  AGENT_JOB_HEAP_GROWING_PERCENT: {
    schema: int(0, 400),
    default: '20',
    doc: "How far each job process's old generation may grow past its live heap before V8's next full garbage collection, in percent: 20 holds a conversation's process about 50 MB under V8's own margin (about 100 %), for a full collection every few seconds; 0 = V8's own.",
  },
  AGENT_MAX_SESSIONS: {
    schema: int(1, 1000),
    default: '8',
    doc: 'Conversations one worker takes at once; its reported load is sessions / this, so LiveKit sends further rooms to other workers.',
  },
  AGENT_IDLE_PROCESSES: {
    schema: int(1, 16),
    default: '1',
    doc: 'Rooms kept ready to start at once, each a place in a started and warmed job process (VAD loaded).',
  },
  AGENT_ROOMS_PER_PROCESS: {
    schema: int(1, 32),
    default: '4',
    doc: "Rooms one job process hosts at once, a warmed one included; the next room goes to another process. Rooms of one process share Node, the framework, the WebRTC and onnxruntime libraries and the VAD model (measured: 64 MB RSS per room at 4 rooms against 194 with a process each), but a crash of that process ends all of them. 1 = a process per room, as the framework's default.",
  },
  AGENT_ROOMS_PER_PROCESS_LIFE: {
    schema: int(1, 100000),
    default: '100',
    doc: 'Rooms one job process takes over its life; then it takes no more and leaves after its last one, so what conversations leave behind in a process cannot grow without bound.',
  },

  AGENT_USER_AWAY_TIMEOUT_MS: {
    schema: int(5000, 86_400_000),
    default: '300000',
    doc: 'A conversation ends (the agent leaves the room) when no user is in the room, or user and agent have both been silent with no typed message, for this long.',
  },
  AGENT_MAX_CONVERSATION_MS: {
    schema: int(60_000, 86_400_000),
    default: '3600000',
    doc: 'Longest a conversation may last; then the agent says goodbye and leaves the room.',
  },
  AGENT_MAX_CHAT_CHARS: { schema: int(1, 100_000), default: '2000', doc: 'Longest typed chat message the agent reads; longer ones are ignored.' },
  AGENT_CHAT_RATE_PER_MIN: {
    schema: int(1, 10_000),
    default: '20',
    doc: 'Typed chat messages per minute the agent answers in one conversation; more are ignored.',
  },

  // --- local models (used when LLM_PROVIDER / STT_PROVIDER resolve to `local`)
  MODELS_DIR: {
    schema: text().pipe(textNonEmpty()),
    default: 'models',
    doc: 'Folder holding the local models and the local LLM runtime (`npm run setup` fills it; set-up links `models/` to its download cache).',
  },
  LOCAL_LLM_MODEL: {
    schema: modelFile(),
    default: 'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf',
    doc: 'GGUF file of the local language model, in MODELS_DIR (set-up installs this one and the smaller, faster, less accurate `SmolLM2-135M-Instruct.Q4_1.gguf`).',
  },
  LOCAL_STT_MODEL: {
    schema: modelFile(),
    default: 'moonshine-tiny-en',
    doc: 'Local speech-to-text model in MODELS_DIR: a Moonshine model folder (set-up installs `moonshine-tiny-en`, English) or a whisper.cpp ggml file ending in `.bin` (set-up also installs `ggml-tiny.en.bin`: about 4x slower on short utterances).',
  },
  LOCAL_MODELS_HOST: {
    schema: host(),
    default: '127.0.0.1',
    doc: 'Bind address of the local model servers (OpenAI-compatible; no authentication, so keep it on loopback unless a private network protects it).',
  },
  LOCAL_LLM_PORT: {
    schema: port(),
    default: '8091',
    doc: 'Port of the local language model server (`/v1/chat/completions`); another orchestrator on this host can use it as LLM_BASE_URL=http://127.0.0.1:PORT/v1.',
  },
  LOCAL_STT_PORT: {
    schema: port(),
    default: '8092',
    doc: 'Port of the local speech-to-text server (`/v1/audio/transcriptions`); usable by others as STT_BASE_URL=http://127.0.0.1:PORT/v1.',
  },
  LOCAL_LLM_THREADS: { schema: int(1, 64), default: '2', doc: 'CPU threads of the local language model.' },
  LOCAL_LLM_NICE: {
    schema: int(0, 19),
    default: '5',
    doc: "Scheduling niceness (0-19) of the local language model's process: above 0, Piper's first audio and the speech-to-text get the CPU first while the model writes the rest of a reply; 0 = the service's own.",
  },
  LOCAL_LLM_PARALLEL: {
    schema: int(1, 16),
    default: '2',
    doc: 'Answers the local language model generates at once; further requests wait (see LOCAL_MODELS_MAX_QUEUE).',
  },
  LOCAL_LLM_CONTEXT_TOKENS: {
    schema: int(512, 32_768),
    default: '2048',
    doc: 'Context size of each parallel answer, in tokens (longer conversations keep their latest turns).',
  },
  LOCAL_LLM_MAX_TOKENS: {
    schema: int(16, 4096),
    default: '256',
    doc: 'Longest answer of the local language model, in tokens (requests asking for more are capped).',
  },
  LOCAL_STT_THREADS: {
    schema: int(0, 64),
    default: '0',
    doc: "CPU threads of the local speech-to-text model; 0 = the model's best on short utterances (Moonshine 1, Whisper 2).",
  },
  LOCAL_STT_MAX_AUDIO_SECONDS: { schema: int(1, 600), default: '120', doc: 'Longest audio the local speech-to-text server accepts in one request.' },
  LOCAL_MODELS_MAX_QUEUE: {
    schema: int(1, 1000),
    default: '16',
    doc: 'Requests a local model server holds waiting; more are refused with 429 (the agent apologises).',
  },
  LOCAL_MODELS_START_TIMEOUT_MS: {
    schema: int(1000, 600_000),
    default: '120000',
    doc: 'Longest a local model server may take to load its model and answer its health check, at start and after a restart.',
  },

  // --- web client
  WEB_ENABLED: {
    schema: bool(),
    default: 'true',
    doc: 'Serve the web page and `POST /api/token` in agent and hybrid modes; `false` for worker-only deployments (no web server runs).',
  },
  WEB_HOST: {
    schema: host(),
    default: '127.0.0.1',
    doc: 'Bind address of the web page and token endpoint; `0.0.0.0` to serve other machines (the container image sets it).',
  },
  WEB_PORT: { schema: portOrZero(), default: '3000', doc: 'Port of the web page and `POST /api/token` (agent and hybrid modes).' },
  WEB_ROOM_PREFIX: { schema: text().pipe(textNonEmpty()), default: 'voice-', doc: 'Prefix of room names handed out by the token endpoint.' },
  WEB_PUBLIC_LIVEKIT_URL: {
    schema: optional(url(['ws', 'wss', 'http', 'https'])),
    doc: '`serverUrl` given to browsers (behind a proxy); unset = LIVEKIT_URL.',
  },
  WEB_TOKEN_TTL_SECONDS: { schema: int(60, 86_400), default: '900', doc: 'Lifetime of participant tokens.' },
  WEB_TOKEN_RATE_LIMIT_PER_MIN: { schema: int(1, 100_000), default: '30', doc: 'Token requests per minute allowed from one client address.' },
} satisfies Record<string, VarSpec>;

function textNonEmpty() {
  return text().refine((v) => v.trim().length > 0, 'a non-empty value');
}

export type VarName = keyof typeof VARIABLES;
export type Config = Readonly<{ [K in VarName]: z.output<(typeof VARIABLES)[K]['schema']> }>;

export const SECRET_VARS: readonly VarName[] = (Object.keys(VARIABLES) as VarName[]).filter((k) => (VARIABLES[k] as VarSpec).secret === true);

export function specOf(name: VarName): VarSpec {
  return VARIABLES[name];
}
