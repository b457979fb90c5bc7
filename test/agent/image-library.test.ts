/**
 * package.json's "overrides" replace the image library sharp (which @livekit/agents imports only to
 * encode video frames for an LLM) with packages/no-sharp: importing the framework maps no libvips,
 * and a video frame sent to the LLM fails with an error that says why.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { llm } from '@livekit/agents';
import { VideoBufferType, VideoFrame } from '@livekit/rtc-node';

it('imports @livekit/agents without an image library; a video frame for the LLM fails with a clear error', async () => {
  assert.doesNotMatch(readFileSync('/proc/self/maps', 'utf8'), /libvips|sharp-linux/);
  const frame = new VideoFrame(new Uint8Array(2 * 2 * 4), 2, 2, VideoBufferType.RGBA);
  await assert.rejects(
    llm.serializeImage(llm.createImageContent({ image: frame })),
    /video frames cannot be sent to the LLM: voice-orchestrator installs no image library \(sharp\)/,
  );
});
