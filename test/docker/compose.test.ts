/**
 * docker-compose.yml, as the compose client resolves it (no engine needed): the side-by-side services (one
 * LiveKit server, the shared model servers, two orchestrators using them), hardened, published on
 * 127.0.0.1 by default, secrets from the environment only. test/containers/compose.test.ts runs it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECRETS = { LIVEKIT_API_SECRET: '0123456789abcdef0123456789abcdef', LEGACY_AUTH_TOKEN: 'fedcba9876543210fedcba' };
const RUNNING = ['agent', 'livekit', 'models', 'speech'];

// biome-ignore lint/suspicious/noExplicitAny: the resolved compose model is checked field by field below
type Service = Record<string, any>;

/** Environment for the compose client without any of the variables the file reads from the caller's shell. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
  return { ...base, ...env };
}

/** `compose config`: the v2 plugin (`docker compose`, JSON) or v1 (`docker-compose`, YAML read by its own PyYAML). */
function composeConfig(env: Record<string, string>): { status: number | null; stderr: string; services?: Record<string, Service> } {
  const options = { cwd: root, encoding: 'utf8' as const, timeout: 60_000, env: cleanEnv(env) };
  const v2 = spawnSync('docker', ['compose', 'config', '--format', 'json'], options);
  if (v2.status === 0) return { status: 0, stderr: v2.stderr, services: JSON.parse(v2.stdout).services };
  if (!/unknown command|is not a docker command|unknown shorthand flag|unknown flag/.test(`${v2.stderr}${v2.stdout}`) && v2.error === undefined) {
    return { status: v2.status, stderr: v2.stderr };
  }
  const v1 = spawnSync('docker-compose', ['config'], options);
  assert.equal(v1.error, undefined, `no compose client: install docker-compose (${v1.error?.message})`);
  if (v1.status !== 0) return { status: v1.status, stderr: v1.stderr };
  const json = spawnSync('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: v1.stdout, encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  return { status: 0, stderr: v1.stderr, services: JSON.parse(json.stdout).services };
}

/** Published ports as [host address, host port, container port/protocol], from the short (v1) or long (v2) syntax. */
function published(service: Service): Array<[string, string, string]> {
  return ((service['ports'] ?? []) as Array<string | Service>).map((p) => {
    if (typeof p === 'string') {
      const [address, hostPort, target] = p.split(':') as [string, string, string];
      return [address, hostPort, target.includes('/') ? target : `${target}/tcp`];
    }
    return [String(p['host_ip']), String(p['published']), `${p['target']}/${p['protocol'] ?? 'tcp'}`];
  });
}

describe('docker-compose.yml', () => {
  const resolved = () => {
    const result = composeConfig(SECRETS);
    assert.equal(result.status, 0, result.stderr);
    return result.services!;
  };

  test('runs one LiveKit server, the shared model servers and two orchestrators using them', () => {
    const services = resolved();
    assert.deepEqual(
      Object.keys(services)
        .filter((s) => !services[s]!['profiles'])
        .sort(),
      RUNNING,
    );
    assert.match(services['livekit']!['image'], /^livekit\/livekit-server:v\d+\.\d+\.\d+$/);
    assert.equal(services['models']!['environment']['ORCHESTRATOR_MODE'], 'models');
    assert.equal(services['agent']!['environment']['ORCHESTRATOR_MODE'], 'agent');
    assert.equal(services['speech']!['environment']['ORCHESTRATOR_MODE'], 'hybrid');
    for (const name of ['agent', 'speech']) {
      const env = services[name]!['environment'];
      assert.equal(env['LLM_BASE_URL'], 'http://models:8091/v1', `${name} uses the models service's LLM`);
      assert.equal(env['STT_BASE_URL'], 'http://models:8092/v1', `${name} uses the models service's STT`);
      assert.equal(env['LIVEKIT_URL'], 'ws://livekit:7880');
      assert.equal(env['LIVEKIT_API_SECRET'], SECRETS.LIVEKIT_API_SECRET);
    }
    assert.notEqual(services['agent']!['environment']['AGENT_NAME'], services['speech']!['environment']['AGENT_NAME'], 'each registers its own agent name');
    assert.equal(services['livekit']!['environment']['LIVEKIT_KEYS'], `orchestrator: ${SECRETS.LIVEKIT_API_SECRET}`);
    assert.equal(services['speech']!['environment']['LEGACY_AUTH_TOKEN'], SECRETS.LEGACY_AUTH_TOKEN);
  });

  test('every service is hardened: read-only root, no capabilities, no-new-privileges, memory limit, version tag', () => {
    const services = resolved();
    for (const [name, service] of Object.entries(services)) {
      assert.equal(service['read_only'], true, `${name}: read_only`);
      assert.deepEqual(service['cap_drop'], ['ALL'], `${name}: cap_drop`);
      assert.ok((service['security_opt'] as string[]).includes('no-new-privileges:true'), `${name}: no-new-privileges`);
      assert.doesNotMatch(service['image'], /:latest$|^[^:]+$/, `${name}: image has a version tag`);
      if (RUNNING.includes(name)) {
        const limit = service['mem_limit'] ?? service['deploy']?.['resources']?.['limits']?.['memory'];
        assert.ok(limit, `${name}: memory limit`);
      }
    }
    for (const name of ['agent', 'models', 'speech']) {
      assert.match(JSON.stringify(services[name]!['healthcheck']['test']), /http:\/\/127\.0\.0\.1:8081\/ready/, `${name}: health check calls /ready`);
    }
  });

  test('ports are published on 127.0.0.1 by default, each orchestrator on its own, the model servers not at all', () => {
    const services = resolved();
    const hostPorts: string[] = [];
    for (const name of RUNNING) {
      for (const [address, hostPort] of published(services[name]!)) {
        assert.equal(address, '127.0.0.1', `${name} publishes ${hostPort} on ${address}`);
        hostPorts.push(hostPort);
      }
    }
    assert.equal(new Set(hostPorts).size, hostPorts.length, `no host port used twice: ${hostPorts}`);
    assert.deepEqual(published(services['models']!), []);
    const moved = composeConfig({ ...SECRETS, PUBLISH_ADDRESS: '0.0.0.0', AGENT_WEB_PORT: '13000' });
    assert.equal(moved.status, 0, moved.stderr);
    assert.ok(published(moved.services!['agent']!).some(([a, p, t]) => a === '0.0.0.0' && p === '13000' && t === '3000/tcp'));
  });

  test('secrets come from the environment: without them the file does not resolve, naming the variable', () => {
    const noSecret = composeConfig({ LEGACY_AUTH_TOKEN: SECRETS.LEGACY_AUTH_TOKEN });
    assert.notEqual(noSecret.status, 0);
    assert.match(noSecret.stderr, /LIVEKIT_API_SECRET/);
    const noToken = composeConfig({ LIVEKIT_API_SECRET: SECRETS.LIVEKIT_API_SECRET });
    assert.notEqual(noToken.status, 0);
    assert.match(noToken.stderr, /LEGACY_AUTH_TOKEN/);
  });

  test('SPEECH_MODE picks the second orchestrator mode', () => {
    const legacy = composeConfig({ ...SECRETS, SPEECH_MODE: 'legacy' });
    assert.equal(legacy.status, 0, legacy.stderr);
    assert.equal(legacy.services!['speech']!['environment']['ORCHESTRATOR_MODE'], 'legacy');
  });
});
