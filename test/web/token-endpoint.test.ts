import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AudioSource, dispose, LocalAudioTrack, LocalVideoTrack, Room, TrackPublishOptions, TrackSource, VideoSource } from '@livekit/rtc-node';
import { AgentDispatchClient, RoomAgentDispatch, RoomConfiguration, TokenVerifier } from 'livekit-server-sdk';
import { startLiveKitServer, type LiveKitTestServer } from '../support/livekit-server.js';
import { MAX_TOKEN_BODY_BYTES } from '../../src/web/http-handler.js';
import { startWeb, type RunningWeb } from '../support/web.js';

const API_KEY = 'test-key';
const API_SECRET = 'web-endpoint-test-secret-0123456789abcdef';
const BASE_ENV = {
  LIVEKIT_URL: 'ws://127.0.0.1:7880',
  LIVEKIT_API_KEY: API_KEY,
  LIVEKIT_API_SECRET: API_SECRET,
  AGENT_NAME: 'test-agent',
  WEB_ROOM_PREFIX: 'webtest-',
  WEB_TOKEN_TTL_SECONDS: '900',
};

interface Details {
  serverUrl: string;
  roomName: string;
  participantName: string;
  participantToken: string;
}

async function postToken(baseUrl: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}/api/token`, {
    method: 'POST',
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const verifier = new TokenVerifier(API_KEY, API_SECRET);

describe('POST /api/token', () => {
  let server: RunningWeb;
  before(async () => {
    server = await startWeb({ ...BASE_ENV, WEB_TOKEN_RATE_LIMIT_PER_MIN: '1000' });
  });
  after(async () => {
    await server.stop();
  });

  test('returns the connection details shape of LiveKit starter frontends, never the secret', async () => {
    const response = await postToken(server.baseUrl, {});
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const text = await response.text();
    assert.ok(!text.includes(API_SECRET), 'the API secret must not appear in the response');
    const details = JSON.parse(text) as Details;
    assert.deepEqual(Object.keys(details).sort(), ['participantName', 'participantToken', 'roomName', 'serverUrl']);
    assert.equal(details.serverUrl, 'ws://127.0.0.1:7880');
    assert.equal(details.participantName, 'user');
  });

  test('grants join, subscribe, microphone-only publishing and data (typed chat) on one fresh prefixed room for exactly the configured TTL', async () => {
    const before = Math.floor(Date.now() / 1000);
    const details = (await (await postToken(server.baseUrl, {})).json()) as Details;
    const claims = await verifier.verify(details.participantToken);
    assert.match(details.roomName, /^webtest-[A-Za-z0-9_-]{8,}$/);
    assert.deepEqual(claims.video, {
      room: details.roomName,
      roomJoin: true,
      canPublish: true,
      canPublishSources: ['microphone'],
      canSubscribe: true,
      canPublishData: true,
      canUpdateOwnMetadata: false,
    });
    assert.equal(claims.video?.roomAdmin, undefined);
    assert.equal(claims.video?.roomCreate, undefined);
    assert.equal(claims.video?.hidden, undefined);
    assert.equal(claims.sip, undefined);
    assert.equal(claims.inference, undefined);
    assert.equal(claims.kind, undefined);
    assert.equal((claims.exp ?? 0) - (claims.nbf ?? 0), 900);
    assert.ok(Math.abs((claims.exp ?? 0) - (before + 900)) <= 5, `exp ${claims.exp} should be about now + 900 s`);
    assert.equal(claims.iss, API_KEY);
    assert.match(claims.sub ?? '', /^user-/);
    assert.equal(claims.name, 'user');
  });

  test('dispatches the configured agent explicitly in the token room configuration', async () => {
    const details = (await (await postToken(server.baseUrl)).json()) as Details;
    const claims = await verifier.verify(details.participantToken);
    const roomConfig = claims.roomConfig;
    assert.ok(roomConfig, 'token must carry a room configuration');
    assert.equal(roomConfig.agents.length, 1);
    assert.equal(roomConfig.agents[0]?.agentName, 'test-agent');
  });

  test('hands out a different room for every request', async () => {
    const rooms = new Set<string>();
    for (let i = 0; i < 5; i++) rooms.add(((await (await postToken(server.baseUrl, {})).json()) as Details).roomName);
    assert.equal(rooms.size, 5);
  });

  test("accepts agent-starter-react's body (TokenSourceRequest as snake_case JSON naming the agent)", async () => {
    // Built with the same protobuf classes and options livekit-client's TokenSource.endpoint() uses.
    const roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: 'test-agent', metadata: '{"topic":"demo"}' })] });
    const body = { room_config: roomConfig.toJson({ useProtoFieldName: true }), participant_name: 'Ada' };
    const response = await postToken(server.baseUrl, body);
    assert.equal(response.status, 200, await response.clone().text());
    const details = (await response.json()) as Details;
    const claims = await verifier.verify(details.participantToken);
    assert.equal(details.participantName, 'Ada');
    assert.equal(claims.name, 'Ada');
    assert.equal(claims.roomConfig?.agents[0]?.agentName, 'test-agent');
    assert.equal(claims.roomConfig?.agents[0]?.metadata, '{"topic":"demo"}');
  });

  test('passes participantName and a metadata object through as participant name and metadata', async () => {
    const response = await postToken(server.baseUrl, { participantName: 'Grace', metadata: { voice: 'en_US-joe-medium' } });
    assert.equal(response.status, 200);
    const details = (await response.json()) as Details;
    const claims = await verifier.verify(details.participantToken);
    assert.equal(claims.name, 'Grace');
    assert.deepEqual(JSON.parse(claims.metadata ?? ''), { voice: 'en_US-joe-medium' });
  });

  const refusedWithCode: Array<[string, unknown, RegExp, string]> = [
    [
      'a name with a bidi override (Cf)',
      { participant_name: 'Eve\u202Egnp.exe' },
      /participant_name: must not contain control or format characters/,
      'FORBIDDEN_CHARACTERS',
    ],
    [
      'a name with a zero-width space (Cf)',
      { participantName: 'ad\u200Bmin' },
      /participantName: must not contain control or format characters/,
      'FORBIDDEN_CHARACTERS',
    ],
    ['a name with a newline (Cc)', { participant_name: 'a\nb' }, /control or format characters/, 'FORBIDDEN_CHARACTERS'],
    ['a name with DEL / C1 controls (Cc)', { participant_name: 'a\u007f\u0085b' }, /control or format characters/, 'FORBIDDEN_CHARACTERS'],
    ['an agent identity', { participant_identity: 'agent-AJ_1234' }, /participant_identity: must not start with "agent-"/, 'RESERVED_IDENTITY'],
    ['an agent identity in other case', { participantIdentity: 'Agent-x' }, /reserved for agents/, 'RESERVED_IDENTITY'],
    ['a reserved lk. attribute', { participant_attributes: { 'lk.agent.state': 'speaking' } }, /must not start with "lk\."/, 'RESERVED_ATTRIBUTE'],
    ['a reserved LK. attribute in other case', { participant_attributes: { 'LK.publish_on_behalf': 'x' } }, /reserved for LiveKit/, 'RESERVED_ATTRIBUTE'],
    ['an attribute name with a format character', { participant_attributes: { 'a\u2066b': 'x' } }, /control or format characters/, 'FORBIDDEN_CHARACTERS'],
    [
      'an attribute value with a control character',
      { participant_attributes: { a: 'x\u0000' } },
      /participant_attributes\.a: must not contain/,
      'FORBIDDEN_CHARACTERS',
    ],
    ['an unknown field', { admin: true }, /unknown field/, 'INVALID_REQUEST'],
    ['another agent', { room_config: { agents: [{ agent_name: 'other-agent' }] } }, /only its own agent/, 'UNKNOWN_AGENT'],
  ];
  for (const [what, body, reason, code] of refusedWithCode) {
    test(`answers 400 with code ${code} for ${what}`, async () => {
      const response = await postToken(server.baseUrl, body);
      assert.equal(response.status, 400);
      const payload = (await response.json()) as { error: string; code: string };
      assert.match(payload.error, reason);
      assert.equal(payload.code, code);
      assert.ok(!/[\p{Cc}\p{Cf}]/u.test(payload.error), 'the refused characters are not echoed back');
    });
  }

  test('accepts ordinary international names and emoji without joiners', async () => {
    for (const name of ['José Ñandú', '李雷', 'Zoë 🎧', "O'Brien-Smith"]) {
      const response = await postToken(server.baseUrl, { participant_name: name });
      assert.equal(response.status, 200, name);
      assert.equal(((await response.json()) as Details).participantName, name);
    }
  });

  const badBodies: Array<[string, string | unknown, RegExp]> = [
    ['invalid JSON', '{"participant_name":', /not valid JSON/],
    ['a JSON array', [], /must be a JSON object/],
    ['an unknown field', { admin: true }, /unknown field\(s\): admin/],
    ['a chosen room name', { room_name: 'someone-elses-room' }, /room_name: cannot be chosen/],
    ['room settings besides the agent', { room_config: { egress: { room: {} } } }, /room_config: only "agents" may be set/],
    ['another agent', { room_config: { agents: [{ agent_name: 'other-agent' }] } }, /only its own agent "test-agent"/],
    ['two agents', { room_config: { agents: [{ agent_name: 'test-agent' }, { agent_name: 'test-agent' }] } }, /at most one agent/],
    ['an empty name', { participant_name: '   ' }, /participant_name: must not be empty/],
    ['a name with control characters', { participant_name: 'a\u0007b' }, /control or format characters/],
    ['an over-long name', { participant_name: 'x'.repeat(65) }, /at most 64 characters/],
    ['a bad identity', { participant_identity: 'has spaces' }, /participant_identity/],
    ['non-string attributes', { participant_attributes: { a: 1 } }, /participant_attributes\.a/],
    ['huge metadata', { metadata: { voice: 'x'.repeat(3000) } }, /at most 2048 characters/],
  ];
  for (const [what, body, reason] of badBodies) {
    test(`answers 400 with the reason for ${what}`, async () => {
      const response = await postToken(server.baseUrl, body);
      assert.equal(response.status, 400);
      const payload = (await response.json()) as { error: string };
      assert.match(payload.error, reason);
    });
  }

  test('answers 415 for a body that is not JSON and 413 for a body over the limit', async () => {
    const form = await postToken(server.baseUrl, undefined, { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 200, 'an empty body needs no content type');
    const wrongType = await fetch(`${server.baseUrl}/api/token`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    assert.equal(wrongType.status, 415);
    const tooLarge = await postToken(server.baseUrl, { participant_name: 'x', pad: 'y'.repeat(MAX_TOKEN_BODY_BYTES) });
    assert.equal(tooLarge.status, 413);
  });

  test('answers 405 with Allow for other methods and 404 for unknown paths', async () => {
    const get = await fetch(`${server.baseUrl}/api/token`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const put = await fetch(`${server.baseUrl}/`, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 405);
    assert.equal((await fetch(`${server.baseUrl}/api/other`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${server.baseUrl}/../etc/passwd`)).status, 404);
    assert.equal((await fetch(`${server.baseUrl}/src/web/client/main.ts`)).status, 404);
  });

  test('serves the page and its bundle with content types and security headers', async () => {
    const page = await fetch(`${server.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/app\.js">/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self' ws:\/\/127\.0\.0\.1:7880 http:\/\/127\.0\.0\.1:7880/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.match(page.headers.get('permissions-policy') ?? '', /microphone=\(self\)/);

    const script = await fetch(`${server.baseUrl}/app.js`);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const js = await script.text();
    assert.ok(js.includes('lk.transcription'), 'the bundle contains the page code');
    assert.ok(js.length > 100_000, 'livekit-client is bundled in, not loaded from a CDN');
    assert.ok(!js.includes(API_SECRET));
    assert.equal((await fetch(`${server.baseUrl}/styles.css`)).headers.get('content-type'), 'text/css; charset=utf-8');
    const etag = script.headers.get('etag') ?? '';
    assert.equal((await fetch(`${server.baseUrl}/app.js`, { headers: { 'If-None-Match': etag } })).status, 304);
    assert.deepEqual(server.web.health(), { ready: true, detail: 'listening' });
  });
});

describe('POST /api/token limits', () => {
  test('answers 429 with Retry-After once a client exceeds WEB_TOKEN_RATE_LIMIT_PER_MIN', async () => {
    const server = await startWeb({ ...BASE_ENV, WEB_TOKEN_RATE_LIMIT_PER_MIN: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await postToken(server.baseUrl, {})).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const limited = await postToken(server.baseUrl, {});
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.match(((await limited.json()) as { error: string }).error, /too many token requests/);
      assert.equal((await fetch(`${server.baseUrl}/`)).status, 200, 'the page itself is not rate limited');
    } finally {
      await server.stop();
    }
  });

  test('answers 503 with a clear message when the LiveKit credentials are empty', async () => {
    const server = await startWeb({ ...BASE_ENV, LIVEKIT_API_KEY: '', LIVEKIT_API_SECRET: '' });
    try {
      const response = await postToken(server.baseUrl, {});
      assert.equal(response.status, 503);
      const payload = (await response.json()) as { error: string };
      assert.match(payload.error, /LiveKit credentials are not configured \(LIVEKIT_API_KEY and LIVEKIT_API_SECRET empty\)/);
      assert.equal(server.web.status?.()?.['credentials'], false);
      assert.ok(server.logs.join('').includes('answers 503'), 'the start-up log says the endpoint is unavailable');
    } finally {
      await server.stop();
    }
  });
});

describe('tokens against a real LiveKit server', () => {
  let livekit: LiveKitTestServer;
  let server: RunningWeb;
  before(async () => {
    livekit = await startLiveKitServer({ apiKey: API_KEY, apiSecret: API_SECRET });
    server = await startWeb({ ...BASE_ENV, LIVEKIT_URL: livekit.url });
  });
  after(async () => {
    await server?.stop();
    await livekit?.stop();
    await dispose();
  });

  test('the server accepts the token into its room and records the agent dispatch', async () => {
    const details = (await (await postToken(server.baseUrl, { participant_name: 'Tester', metadata: { voice: 'v1' } })).json()) as Details;
    assert.equal(details.serverUrl, livekit.url);
    const room = new Room();
    try {
      await room.connect(details.serverUrl, details.participantToken, { autoSubscribe: true, dynacast: false });
      assert.equal(room.name, details.roomName);
      assert.equal(room.localParticipant?.name, 'Tester');
      assert.equal(room.localParticipant?.metadata, '{"voice":"v1"}');
      const dispatches = await new AgentDispatchClient(livekit.httpUrl, API_KEY, API_SECRET).listDispatch(details.roomName);
      assert.deepEqual(
        dispatches.map((d) => d.agentName),
        ['test-agent'],
      );
    } finally {
      await room.disconnect();
    }
  });

  test('the server lets the participant publish its microphone and nothing else', async () => {
    const details = (await (await postToken(server.baseUrl, {})).json()) as Details;
    const room = new Room();
    try {
      await room.connect(details.serverUrl, details.participantToken, { autoSubscribe: false, dynacast: false });
      const mic = LocalAudioTrack.createAudioTrack('mic', new AudioSource(48_000, 1));
      await room.localParticipant?.publishTrack(mic, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
      const camera = LocalVideoTrack.createVideoTrack('camera', new VideoSource(64, 64));
      // LiveKit ignores a publication the grant does not allow: the SDK gives up after its timeout.
      await assert.rejects(room.localParticipant!.publishTrack(camera, new TrackPublishOptions({ source: TrackSource.SOURCE_CAMERA })));
    } finally {
      await room.disconnect();
    }
  });

  test('a token edited to name another room is refused by the server', async () => {
    const details = (await (await postToken(server.baseUrl, {})).json()) as Details;
    const claims = await verifier.verify(details.participantToken);
    assert.equal(claims.video?.room, details.roomName);
    // Same signature, different room in the URL: LiveKit joins the room named in the token only.
    const room = new Room();
    try {
      await room.connect(details.serverUrl, details.participantToken, { autoSubscribe: false, dynacast: false });
      assert.equal(room.name, details.roomName);
    } finally {
      await room.disconnect();
    }
    const forged = details.participantToken.replace(/\.[^.]+\./, (payload) => {
      const json = JSON.parse(Buffer.from(payload.slice(1, -1), 'base64url').toString()) as { video: { room: string } };
      json.video.room = 'webtest-someone-else';
      return `.${Buffer.from(JSON.stringify(json)).toString('base64url')}.`;
    });
    const intruder = new Room();
    await assert.rejects(intruder.connect(details.serverUrl, forged, { autoSubscribe: false, dynacast: false }));
    await intruder.disconnect().catch(() => undefined);
  });
});
