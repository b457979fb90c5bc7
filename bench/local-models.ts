/**
 * `npx tsx bench/local-models.ts [--llm-url URL] [--stt-url URL]`: how well and how fast a language
 * model and a speech-to-text model answer short questions with known answers
 * (bench/data/local-models-questions.json), over their OpenAI-compatible HTTP APIs with the real
 * `openai` client.
 *
 * - typed: the question text -> streaming chat completion with the agent's default system prompt
 *   (AGENT_INSTRUCTIONS); time to first token, to the first complete sentence (what Piper waits
 *   for), total; correct when the answer contains an accepted keyword (whole words, any case,
 *   numbers as digits or words).
 * - spoken: the question spoken by our Piper engine (the test voice) -> /v1/audio/transcriptions;
 *   transcript latency and word error rate against the question (the tests' word normalization),
 *   then the transcript goes to the language model and is scored the same way.
 *
 * Without a URL the bench starts the product's own local model servers (src/local-models, the default
 * configuration; --llm-file picks another installed GGUF). Requests are sent one at a time, greedy
 * (temperature 0), each with a timeout; a failed request counts as a wrong answer and is shown.
 * Prints a row per question and a summary, and writes everything as JSON (--out). Exit code 0
 * once the run is done, however many answers are wrong; 2 when it cannot start (peer, voice or
 * endpoint missing).
 *
 * Options: --llm-url, --stt-url (OpenAI-style base URLs ending in /v1), --llm-file, --llm-model, --stt-model
 * (default: the first model each server lists), --max-tokens (64), --timeout-ms (30000),
 * --questions FILE, --limit N, --typed-only, --out FILE (bench-results/local-models.json).
 * The API key sent is OPENAI_API_KEY, else a placeholder (the local servers accept any).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import OpenAI, { toFile } from 'openai';
import { concatInt16, encodeWav, Resampler } from '../src/audio/index.js';
import { loadConfig } from '../src/config/load.js';
import { VARIABLES } from '../src/config/schema.js';
import { createLocalModelsComponent } from '../src/local-models/index.js';
import { createLogger } from '../src/ops/logger.js';
import { createMetricsRegistry } from '../src/ops/metrics.js';
import { freeTcpPort } from '../test/support/ports.js';
import { percentile } from '../src/legacy/metrics.js';
import { piperClips } from '../test/support/piper-clips.js';
import { TEST_VOICE } from '../test/support/voices.js';
import { normalizeWords, wordErrors } from '../test/support/word-accuracy.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    'llm-url': { type: 'string' },
    'stt-url': { type: 'string' },
    'llm-model': { type: 'string' },
    'llm-file': { type: 'string' },
    'stt-model': { type: 'string' },
    'max-tokens': { type: 'string', default: '64' },
    'timeout-ms': { type: 'string', default: '30000' },
    questions: { type: 'string', default: join(ROOT, 'bench', 'data', 'local-models-questions.json') },
    limit: { type: 'string' },
    'typed-only': { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench-results', 'local-models.json') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(
    'usage: npx tsx bench/local-models.ts [--llm-url URL] [--stt-url URL] [--llm-model ID] [--stt-model ID]\n' +
      '         [--max-tokens 64] [--timeout-ms 30000] [--questions FILE] [--limit N] [--typed-only] [--out FILE]\n' +
      "Without --llm-url / --stt-url the product's local model servers are started with the default configuration;\n" +
      '--llm-file NAME.gguf (in MODELS_DIR) evaluates another installed model, e.g. SmolLM2-135M-Instruct.Q4_1.gguf.',
  );
  process.exit(0);
}

const maxTokens = positiveInt('max-tokens', args['max-tokens']);
const timeoutMs = positiveInt('timeout-ms', args['timeout-ms']);
const spoken = !args['typed-only'];
const SYSTEM_PROMPT = VARIABLES.AGENT_INSTRUCTIONS.default;

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, not ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

// --- questions and scoring

interface Question {
  id: string;
  topic: string;
  question: string;
  answers: string[];
}

function loadQuestions(file: string): Question[] {
  const data = JSON.parse(readFileSync(file, 'utf8')) as { questions?: unknown };
  if (!Array.isArray(data.questions) || data.questions.length === 0) throw new Error(`${file}: no "questions" list`);
  return data.questions.map((q: Partial<Question>, i: number) => {
    if (typeof q.question !== 'string' || !Array.isArray(q.answers) || q.answers.length === 0 || !q.answers.every((a) => typeof a === 'string')) {
      throw new Error(`${file}: question ${i + 1} needs "question" (text) and "answers" (non-empty list of texts)`);
    }
    return { id: q.id ?? `q${i + 1}`, topic: q.topic ?? '', question: q.question, answers: q.answers };
  });
}

const SMALL_NUMBERS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** A number 0..99 in words at words[i] ("seven", "twenty four"): its value and the index after it. */
function wordsBelow100(words: readonly string[], i: number): [number, number] | undefined {
  const tens = TENS.indexOf(words[i] ?? '');
  if (tens >= 2) {
    const ones = SMALL_NUMBERS.indexOf(words[i + 1] ?? '');
    return ones >= 1 && ones <= 9 ? [tens * 10 + ones, i + 2] : [tens * 10, i + 1];
  }
  const small = SMALL_NUMBERS.indexOf(words[i] ?? '');
  return small >= 0 ? [small, i + 1] : undefined;
}

/**
 * Normalized words (normalizeWords) with numbers up to 999 spelled out turned into digits
 * ("twenty four" -> "24", "two hundred and five" -> "205"), so that Whisper writing "2" for
 * "two" is neither a recognition error nor a wrong answer.
 */
function comparableWords(text: string): string[] {
  const words = normalizeWords(text);
  const out: string[] = [];
  for (let i = 0; i < words.length; ) {
    const below100 = wordsBelow100(words, i);
    if (!below100) {
      out.push(words[i++]!);
      continue;
    }
    let [value, next] = below100;
    if (words[next] === 'hundred' && value >= 1 && value <= 9) {
      value *= 100;
      next++;
      const rest = wordsBelow100(words, words[next] === 'and' ? next + 1 : next);
      if (rest) [value, next] = [value + rest[0], rest[1]];
    }
    out.push(String(value));
    i = next;
  }
  return out;
}

/** True when `answer` contains one of the keywords as whole words (a plural "s" allowed on a word). */
function isCorrect(answer: string, keywords: readonly string[]): boolean {
  const text = ` ${comparableWords(answer).join(' ')} `;
  return keywords.some((k) => {
    const form = comparableWords(k).join(' ');
    return form.length > 0 && (text.includes(` ${form} `) || (/[a-z]$/.test(form) && text.includes(` ${form}s `)));
  });
}

// --- requests

interface Answer {
  ok: boolean;
  text: string;
  error?: string;
  ttftMs?: number;
  firstSentenceMs?: number;
  totalMs?: number;
  completionTokens?: number;
}

interface Transcript {
  text: string;
  error?: string;
  latencyMs?: number;
  referenceWords: number;
  wordErrors?: number;
}

/** An abort signal that fires after timeoutMs; `timedOut()` tells whether it did. */
function deadline(ms: number): { signal: AbortSignal; timedOut: () => boolean; clear: () => void } {
  const controller = new AbortController();
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    controller.abort();
  }, ms);
  return { signal: controller.signal, timedOut: () => fired, clear: () => clearTimeout(timer) };
}

function describeError(err: unknown, timedOut: boolean): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.slice(0, 200);
}

/** A sentence is complete once its end mark is followed by white space (or the answer ends). */
const SENTENCE_END = /[.!?]['")\]]*\s/;

async function ask(llm: OpenAI, model: string, question: string): Promise<Omit<Answer, 'ok'>> {
  const limit = deadline(timeoutMs);
  const start = performance.now();
  let text = '';
  let ttft: number | undefined;
  let firstSentence: number | undefined;
  let completionTokens: number | undefined;
  try {
    const stream = await llm.chat.completions.create(
      {
        model,
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: question },
        ],
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: maxTokens,
        temperature: 0,
      },
      { signal: limit.signal },
    );
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      if (!piece) continue;
      const now = performance.now();
      if (ttft === undefined && piece.trim()) ttft = now - start;
      text += piece;
      if (firstSentence === undefined && SENTENCE_END.test(text.trimStart())) firstSentence = now - start;
    }
    const total = performance.now() - start;
    if (ttft === undefined) return { text, error: 'empty answer', totalMs: total };
    return { text: text.trim(), ttftMs: ttft, firstSentenceMs: firstSentence ?? total, totalMs: total, ...(completionTokens ? { completionTokens } : {}) };
  } catch (err) {
    return { text: text.trim(), error: describeError(err, limit.timedOut()) };
  } finally {
    limit.clear();
  }
}

async function answer(llm: OpenAI, model: string, question: string, keywords: readonly string[]): Promise<Answer> {
  const result = await ask(llm, model, question);
  return { ...result, ok: result.error === undefined && isCorrect(result.text, keywords) };
}

async function transcribe(stt: OpenAI, model: string, wav: Uint8Array, reference: string): Promise<Transcript> {
  const limit = deadline(timeoutMs);
  const referenceWords = comparableWords(reference);
  const start = performance.now();
  try {
    const result = await stt.audio.transcriptions.create(
      { file: await toFile(wav, 'question.wav', { type: 'audio/wav' }), model, language: 'en', response_format: 'json' },
      { signal: limit.signal },
    );
    const latencyMs = performance.now() - start;
    const text = result.text.trim();
    return { text, latencyMs, referenceWords: referenceWords.length, wordErrors: wordErrors(referenceWords, comparableWords(text)) };
  } catch (err) {
    return { text: '', error: describeError(err, limit.timedOut()), referenceWords: referenceWords.length };
  } finally {
    limit.clear();
  }
}

async function listModels(client: OpenAI): Promise<string[]> {
  const limit = deadline(timeoutMs);
  try {
    const page = await client.models.list({ signal: limit.signal });
    return page.data.map((m) => m.id);
  } finally {
    limit.clear();
  }
}

/** The question as our Piper engine says it: 16 kHz mono WAV with a little silence either side, as a microphone would send. */
async function synthesizeAll(questions: readonly Question[]): Promise<Uint8Array[]> {
  const silence = new Int16Array(16_000 * 0.3);
  return (await piperClips(questions.map((q) => q.question))).map((clip) =>
    encodeWav(concatInt16([silence, Resampler.oneShot(clip.pcm, clip.sampleRate, 16_000), silence]), 16_000),
  );
}

// --- report

interface Row {
  question: Question;
  typed: Answer;
  transcript?: Transcript;
  spoken?: Answer;
}

const ms = (v: number | undefined) => (v === undefined ? '-' : String(Math.round(v)));
const clip = (s: string, n: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length <= n ? flat : `${flat.slice(0, n - 1)}…`;
};
const verdict = (a: Answer | undefined) => (a === undefined ? '-' : a.error ? 'FAIL' : a.ok ? 'ok' : 'wrong');

function stats(values: Array<number | undefined>): { p50: number | null; p95: number | null; n: number } {
  const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), n: sorted.length };
}

function perQuestionTable(rows: readonly Row[]): string {
  const head = `${'#'.padStart(3)}  ${'typed'.padEnd(5)} ${'ttft'.padStart(5)} ${'sent.'.padStart(5)}  ${spoken ? `${'stt'.padStart(5)} ${'WER'.padStart(4)} ${'spoken'.padEnd(6)}  ` : ''}question -> typed answer`;
  const lines = [head, '-'.repeat(Math.min(150, head.length + 60))];
  rows.forEach((r, i) => {
    const t = r.typed;
    const tr = r.transcript;
    const wer = tr?.wordErrors === undefined ? '-' : (tr.wordErrors / Math.max(1, tr.referenceWords)).toFixed(2);
    const spokenCols = spoken ? `${ms(tr?.latencyMs).padStart(5)} ${wer.padStart(4)} ${verdict(r.spoken).padEnd(6)}  ` : '';
    const shown = t.error ? `FAILED: ${t.error}` : clip(t.text, 70);
    lines.push(
      `${String(i + 1).padStart(3)}  ${verdict(t).padEnd(5)} ${ms(t.ttftMs).padStart(5)} ${ms(t.firstSentenceMs).padStart(5)}  ${spokenCols}${r.question.question} -> ${shown}`,
    );
    if (spoken && tr && r.spoken) {
      const misheard = tr.error !== undefined || tr.wordErrors !== 0;
      const spokenDiffers = r.spoken.error !== undefined || r.spoken.ok !== t.ok;
      if (misheard || spokenDiffers) {
        const heard = tr.error ? `STT FAILED: ${tr.error}` : `heard "${clip(tr.text, 70)}"`;
        const said = r.spoken.error ? `FAILED: ${r.spoken.error}` : clip(r.spoken.text, 70);
        lines.push(`${' '.repeat(43)}${heard} -> ${said}`);
      }
    }
  });
  return lines.join('\n');
}

function summarize(rows: readonly Row[]) {
  const n = rows.length;
  const typedOk = rows.filter((r) => r.typed.ok).length;
  const spokenOk = rows.filter((r) => r.spoken?.ok).length;
  const transcripts = rows.flatMap((r) => (r.transcript ? [r.transcript] : []));
  const refWords = transcripts.reduce((a, t) => a + t.referenceWords, 0);
  const errors = transcripts.reduce((a, t) => a + (t.wordErrors ?? t.referenceWords), 0);
  const spokenToSentence = rows.map((r) =>
    r.transcript?.latencyMs !== undefined && r.spoken?.firstSentenceMs !== undefined ? r.transcript.latencyMs + r.spoken.firstSentenceMs : undefined,
  );
  return {
    questions: n,
    typedCorrect: typedOk,
    typedAccuracy: typedOk / n,
    typedFailedRequests: rows.filter((r) => r.typed.error).length,
    ...(spoken
      ? {
          spokenCorrect: spokenOk,
          spokenAccuracy: spokenOk / n,
          sttFailedRequests: transcripts.filter((t) => t.error).length,
          spokenLlmFailedRequests: rows.filter((r) => r.spoken?.error).length,
          // a failed transcription counts every reference word as an error
          wordErrorRate: refWords === 0 ? null : errors / refWords,
          wordErrors: errors,
          referenceWords: refWords,
          exactTranscripts: transcripts.filter((t) => t.wordErrors === 0).length,
          transcriptLatencyMs: stats(transcripts.map((t) => t.latencyMs)),
          spokenToFirstSentenceMs: stats(spokenToSentence),
        }
      : {}),
    ttftMs: stats(rows.map((r) => r.typed.ttftMs)),
    firstSentenceMs: stats(rows.map((r) => r.typed.firstSentenceMs)),
    totalMs: stats(rows.map((r) => r.typed.totalMs)),
  };
}

function summaryTable(s: ReturnType<typeof summarize>, models: { llm: string; stt: string }): string {
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)} %`);
  const pair = (p: { p50: number | null; p95: number | null } | undefined) => (p ? `${ms(p.p50 ?? undefined)} / ${ms(p.p95 ?? undefined)} ms` : '-');
  const rows: Array<[string, string]> = [
    ['LLM model', models.llm],
    [
      'typed accuracy',
      `${s.typedCorrect}/${s.questions} (${pct(s.typedAccuracy)})${s.typedFailedRequests ? `, ${s.typedFailedRequests} failed requests` : ''}`,
    ],
    ['LLM time to first token p50 / p95', pair(s.ttftMs)],
    ['LLM time to first sentence p50 / p95', pair(s.firstSentenceMs)],
    ['LLM whole answer p50 / p95', pair(s.totalMs)],
  ];
  if (spoken) {
    const failed = (s.sttFailedRequests ?? 0) + (s.spokenLlmFailedRequests ?? 0);
    rows.push(
      ['STT model', models.stt],
      ['STT word error rate', `${pct(s.wordErrorRate)} (${s.wordErrors}/${s.referenceWords} words; ${s.exactTranscripts}/${s.questions} transcripts exact)`],
      ['STT transcript latency p50 / p95', pair(s.transcriptLatencyMs)],
      ['spoken accuracy', `${s.spokenCorrect}/${s.questions} (${pct(s.spokenAccuracy)})${failed ? `, ${failed} failed requests` : ''}`],
      ['spoken: transcript + first sentence p50 / p95', pair(s.spokenToFirstSentenceMs)],
    );
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

// --- the product's local model servers, as `ORCHESTRATOR_MODE=models` runs them, on free ports

interface LocalModels {
  llmURL: string | undefined;
  sttURL: string | undefined;
  stop(): Promise<void>;
}

async function startLocalModels(options: { llm: boolean; stt: boolean; llmFile: string | undefined }): Promise<LocalModels> {
  const [llmPort, sttPort] = [await freeTcpPort(), await freeTcpPort()];
  const { config } = loadConfig({
    env: {
      ...process.env,
      ORCHESTRATOR_MODE: 'agent',
      LLM_PROVIDER: options.llm ? 'local' : 'none',
      STT_PROVIDER: options.stt ? 'local' : 'none',
      LOCAL_LLM_PORT: String(llmPort),
      LOCAL_STT_PORT: String(sttPort),
      LOG_LEVEL: 'warn',
      ...(options.llmFile ? { LOCAL_LLM_MODEL: options.llmFile } : {}),
    },
  });
  const component = createLocalModelsComponent({ config, logger: createLogger(config), metrics: createMetricsRegistry('models') });
  await component.start();
  return {
    llmURL: options.llm ? `http://127.0.0.1:${llmPort}/v1` : undefined,
    sttURL: options.stt ? `http://127.0.0.1:${sttPort}/v1` : undefined,
    stop: () => component.stop(Date.now() + 10_000),
  };
}

// --- run

async function main(): Promise<number> {
  let questions: Question[];
  let local: LocalModels | undefined;
  let llm: OpenAI;
  let stt: OpenAI | undefined;
  let llmModel: string;
  let sttModel = '';
  let llmModels: string[] = [];
  let sttModels: string[] = [];
  let wavs: Uint8Array[] = [];

  // Setup: any failure here is the bench's, not the models' (exit 2).
  try {
    questions = loadQuestions(args.questions);
    if (args.limit !== undefined) questions = questions.slice(0, positiveInt('limit', args.limit));
    // Piper first, so its synthesis never competes with a measured request.
    if (spoken) {
      console.error(`synthesizing ${questions.length} questions with Piper (${TEST_VOICE})...`);
      wavs = await synthesizeAll(questions);
    }
    const startLlm = args['llm-url'] === undefined;
    const startStt = spoken && args['stt-url'] === undefined;
    if (startLlm || startStt) {
      console.error(`starting the product's local model servers: ${[startLlm && 'LLM', startStt && 'STT'].filter(Boolean).join(', ')}...`);
      local = await startLocalModels({ llm: startLlm, stt: startStt, llmFile: args['llm-file'] });
    }
    const apiKey = process.env['OPENAI_API_KEY'] || 'local-bench';
    const llmURL = args['llm-url'] ?? local?.llmURL;
    if (!llmURL) throw new Error('no LLM server');
    llm = new OpenAI({ baseURL: llmURL, apiKey, maxRetries: 0, timeout: timeoutMs });
    llmModels = await listModels(llm).catch((err: unknown) => {
      if (args['llm-model']) return [];
      throw new Error(`LLM server ${llmURL}: GET /models failed (${describeError(err, false)}); name the model with --llm-model`);
    });
    llmModel = args['llm-model'] ?? llmModels[0] ?? '';
    if (!llmModel) throw new Error(`LLM server ${llmURL} lists no model; name one with --llm-model`);
    if (spoken) {
      const sttURL = args['stt-url'] ?? local?.sttURL;
      if (!sttURL) throw new Error('no STT server');
      stt = new OpenAI({ baseURL: sttURL, apiKey, maxRetries: 0, timeout: timeoutMs });
      sttModels = await listModels(stt).catch((err: unknown) => {
        if (args['stt-model']) return [];
        throw new Error(`STT server ${sttURL}: GET /models failed (${describeError(err, false)}); name the model with --stt-model`);
      });
      sttModel = args['stt-model'] ?? sttModels[0] ?? '';
      if (!sttModel) throw new Error(`STT server ${sttURL} lists no model; name one with --stt-model`);
    }
  } catch (err) {
    await local?.stop();
    console.error(`bench local-models cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }

  const llmURL = llm.baseURL;
  const sttURL = stt?.baseURL;
  const llmLabel = `${llmModel}${local?.llmURL ? ' (local)' : ''}${llmModels.length > 1 ? ` [server lists: ${llmModels.join(', ')}]` : ''}`;
  const sttLabel = `${sttModel}${local?.sttURL ? ' (local)' : ''}${sttModels.length > 1 ? ` [server lists: ${sttModels.join(', ')}]` : ''}`;
  const rows: Row[] = [];
  try {
    // Warm-up (not measured): the first request of a fresh server pays for loading and caches.
    console.error('warming up...');
    await ask(llm, llmModel, 'Hello.');
    if (stt && wavs[0]) await transcribe(stt, sttModel, wavs[0], questions[0]!.question);

    for (const [i, q] of questions.entries()) {
      const typed = await answer(llm, llmModel, q.question, q.answers);
      const row: Row = { question: q, typed };
      if (stt) {
        row.transcript = await transcribe(stt, sttModel, wavs[i]!, q.question);
        row.spoken = row.transcript.error
          ? { ok: false, text: '', error: `no transcript (${row.transcript.error})` }
          : await answer(llm, llmModel, row.transcript.text, q.answers);
      }
      rows.push(row);
      console.error(`[${i + 1}/${questions.length}] typed ${verdict(typed)}${row.spoken ? `, spoken ${verdict(row.spoken)}` : ''}: ${q.question}`);
    }
  } finally {
    await local?.stop();
  }

  const summary = summarize(rows);
  console.log(`\nlocal models: ${rows.length} questions, agent's default system prompt, temperature 0, max ${maxTokens} tokens, timeout ${timeoutMs} ms`);
  console.log(`LLM ${llmURL}${spoken ? `\nSTT ${sttURL} (speech: Piper ${TEST_VOICE}, 16 kHz WAV)` : ''}\n`);
  console.log(perQuestionTable(rows));
  console.log(`\n${summaryTable(summary, { llm: llmLabel, stt: sttLabel })}`);
  console.log(`(load average ${loadavg()[0]!.toFixed(2)} on this machine: latencies include whatever else ran)`);

  const out = resolve(args.out);
  mkdirSync(dirname(out), { recursive: true });
  const report = {
    bench: 'local-models',
    finishedAt: new Date().toISOString(),
    settings: {
      maxTokens,
      timeoutMs,
      temperature: 0,
      systemPrompt: SYSTEM_PROMPT,
      voice: spoken ? TEST_VOICE : null,
      questionsFile: relative(ROOT, args.questions),
    },
    llm: { baseURL: llmURL, model: llmModel, listedModels: llmModels, local: Boolean(local?.llmURL) },
    stt: spoken ? { baseURL: sttURL, model: sttModel, listedModels: sttModels, local: Boolean(local?.sttURL) } : null,
    loadAverage1m: loadavg()[0],
    summary,
    questions: rows.map(({ question: q, typed, transcript, spoken: heard }) => ({ ...q, typed, ...(heard ? { transcript, spoken: heard } : {}) })),
  };
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  const shown = relative(process.cwd(), out);
  console.log(`\nresults: ${shown.startsWith('..') ? out : shown}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench local-models: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
