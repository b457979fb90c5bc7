/**
 * TurnLatencyTracker on the events an AgentSession emits, on a clock the test moves: a reply started at the
 * commit, one started before it (preemptive generation), and one thrown away for a later one.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { voice } from '@livekit/agents';
import { type TurnLatency, TurnLatencyTracker } from '../../src/agent/turn-latency.js';

describe('TurnLatencyTracker', () => {
  let clock = 0;
  let session: EventEmitter;
  let turns: TurnLatency[];
  let tracker: TurnLatencyTracker;

  beforeEach(() => {
    clock = 1000;
    mock.method(performance, 'now', () => clock);
    session = new EventEmitter();
    turns = [];
    tracker = new TurnLatencyTracker((t) => turns.push(t));
    tracker.attach(session as unknown as voice.AgentSession);
  });
  afterEach(() => mock.restoreAll());

  const at = (ms: number) => {
    clock = 1000 + ms;
  };
  const metrics = (m: object) => session.emit(voice.AgentSessionEventTypes.MetricsCollected, { metrics: m });
  const commit = (eouMs: number) => metrics({ type: 'eou_metrics', endOfUtteranceDelayMs: eouMs, transcriptionDelayMs: eouMs });
  const ttsFirstAudio = (ms: number) => metrics({ type: 'tts_metrics', ttfbMs: ms, streamed: true });
  const agent = (newState: string) => session.emit(voice.AgentSessionEventTypes.AgentStateChanged, { newState });
  const user = (newState: string) => session.emit(voice.AgentSessionEventTypes.UserStateChanged, { newState });
  const close = () => session.emit(voice.AgentSessionEventTypes.Close, {});

  it('a reply started at the commit: the overhead is what no stage accounts for', () => {
    user('speaking');
    at(420);
    commit(420);
    at(440);
    tracker.llmStarted();
    at(920);
    tracker.firstSentence(480);
    at(1070);
    ttsFirstAudio(150);
    at(1090);
    agent('speaking');
    close();
    assert.equal(turns.length, 1);
    assert.equal(turns[0]!.e2eMs, 420 + 670);
    assert.equal(turns[0]!.overheadMs, 20 + 20);
    assert.deepEqual(turns[0]!.stages, { eou_delay: 420, transcription_delay: 420, llm_first_sentence: 480, tts_ttfb: 150 });
  });

  it('a reply started before the commit (preemptive generation) keeps its stages, and only the wait after the first audio is overhead', () => {
    user('speaking');
    at(200);
    tracker.llmStarted();
    at(420);
    commit(420);
    at(680);
    tracker.firstSentence(480);
    at(830);
    ttsFirstAudio(150);
    at(850);
    agent('speaking');
    close();
    assert.equal(turns[0]!.e2eMs, 420 + 430);
    assert.equal(turns[0]!.overheadMs, 20);
    assert.equal(turns[0]!.stages.llm_first_sentence, 480);
  });

  it('the stages of a reply thrown away (the user went on) are not those of the one that plays', () => {
    user('speaking');
    at(100);
    tracker.llmStarted();
    at(400);
    tracker.firstSentence(300);
    // the user spoke on after their pause: another reply on more words
    at(900);
    tracker.llmStarted();
    at(1100);
    commit(400);
    at(1350);
    tracker.firstSentence(450);
    at(1470);
    ttsFirstAudio(120);
    at(1500);
    agent('speaking');
    close();
    assert.equal(turns[0]!.stages.llm_first_sentence, 450);
    assert.equal(turns[0]!.overheadMs, 30);
  });
});
