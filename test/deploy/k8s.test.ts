/**
 * deploy/k8s/: every manifest passes a real Kubernetes schema validator offline (kubernetes-validate from
 * PyPI, which bundles the schemas; strict: unknown fields are errors) for the oldest and newest Kubernetes
 * versions we claim, and so does what `kustomize build` (as `kubectl apply -k`) renders from them; the
 * validator rejects broken manifests (so a pass means something); the kustomization lists exactly the
 * manifests; and every rendered pod spec carries the security settings of issue 15.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PeerMissingError, peerCacheDir } from '../support/cache.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const k8sDir = join(root, 'deploy', 'k8s');
const KUBERNETES_VERSIONS = ['1.29', '1.37'];

// biome-ignore lint/suspicious/noExplicitAny: parsed manifests are checked field by field below
type Doc = Record<string, any>;

function kustomize(): string {
  const path = join(peerCacheDir(), 'bin', 'kustomize');
  if (!existsSync(path)) throw new PeerMissingError('kustomize', 'k8s-validate', 'no kustomize in $VO_CACHE/bin');
  return path;
}

function venvBin(name: string): string {
  const path = join(peerCacheDir(), 'venv-k8s-validate', 'bin', name);
  if (!existsSync(path)) throw new PeerMissingError('kubernetes-validate', 'k8s-validate', `no ${name} in $VO_CACHE/venv-k8s-validate`);
  return path;
}

function validate(files: string[], version: string) {
  return spawnSync(venvBin('kubernetes-validate'), ['--strict', '--no-warn', '-k', version, ...files], { encoding: 'utf8', timeout: 60_000 });
}

/** Every YAML document of `files`, parsed by PyYAML (the validator's own dependency). */
function load(files: string[]): Array<{ file: string; doc: Doc }> {
  const script = 'import json,sys,yaml\nprint(json.dumps([[f, d] for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d is not None]))';
  const result = spawnSync(venvBin('python'), ['-c', script, ...files], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as Array<[string, Doc]>).map(([file, doc]) => ({ file, doc }));
}

const kustomization = join(k8sDir, 'kustomization.yaml');
const manifestFiles = readdirSync(k8sDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .sort()
  .map((f) => join(k8sDir, f));
const scratch = mkdtempSync(join(tmpdir(), 'vo-k8s-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('deploy/k8s manifests', () => {
  // What `kubectl apply -k deploy/k8s` would apply.
  let rendered: string | undefined;
  const renderedFile = () => {
    if (rendered) return rendered;
    const result = spawnSync(kustomize(), ['build', k8sDir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, `kustomize build failed: ${result.stderr}`);
    rendered = join(scratch, 'rendered.yaml');
    writeFileSync(rendered, result.stdout);
    return rendered;
  };
  let parsed: Array<{ file: string; doc: Doc }> | undefined;
  const docs = () => (parsed ??= load([renderedFile()]));
  const byKind = (kind: string) => docs().filter((d) => d.doc['kind'] === kind);
  const settings = () => byKind('ConfigMap').find((d) => d.doc['metadata']['name'] === 'voice-orchestrator-settings')?.doc['data'] as Record<string, string>;

  for (const version of KUBERNETES_VERSIONS) {
    test(`pass kubernetes-validate --strict for Kubernetes ${version}`, () => {
      const result = validate(manifestFiles, version);
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      // one "passed" line per resource: nothing was skipped for want of a schema
      const passed = result.stdout.split('\n').filter((l) => l.includes(' passed for resource '));
      assert.equal(passed.length, load(manifestFiles).length, result.stdout);
    });
  }

  test('kustomize build renders them, in one namespace and labelled, and what it renders passes too', () => {
    const result = validate([renderedFile()], '1.37');
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(docs().length, load(manifestFiles).length);
    for (const { doc } of docs()) {
      const where = `${doc['kind']}/${doc['metadata']['name']}`;
      assert.equal(doc['metadata']['labels']?.['app.kubernetes.io/part-of'], 'voice-orchestrator', `${where}: part-of label`);
      if (doc['kind'] !== 'Namespace') assert.equal(doc['metadata']['namespace'], 'voice-orchestrator', `${where}: namespace`);
    }
  });

  test('the validator rejects an unknown field, a wrong type and a missing required field', () => {
    const agent = readFileSync(join(k8sDir, 'agent-deployment.yaml'), 'utf8');
    const hpa = readFileSync(join(k8sDir, 'agent-hpa.yaml'), 'utf8');
    const broken: Record<string, [string, string]> = {
      'unknown-field.yaml': [agent, agent.replace('terminationGracePeriodSeconds:', 'terminationGracePeriodSecond:')],
      'wrong-type.yaml': [agent, agent.replace('replicas: 2', 'replicas: two')],
      'no-target.yaml': [hpa, hpa.replace(/ {2}scaleTargetRef:\n(?: {4}.*\n)+/, '')],
    };
    for (const [name, [original, text]] of Object.entries(broken)) {
      assert.notEqual(text, original, `${name}: the edit applied`);
      const file = join(scratch, name);
      writeFileSync(file, text);
      const result = validate([file], '1.37');
      assert.equal(result.status, 1, `${name} was accepted:\n${result.stdout}`);
      assert.match(result.stdout + result.stderr, /did not validate/);
    }
  });

  test('kustomization.yaml lists exactly the manifests and pins a version tag', () => {
    const doc = load([kustomization])[0]!.doc;
    assert.equal(doc['kind'], 'Kustomization');
    const listed = (doc['resources'] as string[]).map((r) => join(k8sDir, r)).sort();
    assert.deepEqual(listed, manifestFiles);
    for (const image of doc['images'] as Doc[]) assert.match(String(image['newTag']), /^\d+\.\d+\.\d+$/);
  });

  test('every pod spec is hardened: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, no token, limits', () => {
    const deployments = byKind('Deployment');
    assert.deepEqual(deployments.map((d) => d.doc['metadata']['name']).sort(), [
      'voice-orchestrator-agent',
      'voice-orchestrator-legacy',
      'voice-orchestrator-models',
    ]);
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
    for (const { doc } of deployments) {
      const name = doc['metadata']['name'];
      const pod = doc['spec']['template']['spec'];
      assert.equal(pod['automountServiceAccountToken'], false, `${name}: automountServiceAccountToken`);
      assert.equal(pod['securityContext']['runAsNonRoot'], true, `${name}: pod runAsNonRoot`);
      assert.ok(pod['securityContext']['runAsUser'] > 0, `${name}: pod runAsUser`);
      assert.equal(pod['securityContext']['seccompProfile']['type'], 'RuntimeDefault', `${name}: pod seccompProfile`);
      const containers: Doc[] = [...(pod['initContainers'] ?? []), ...pod['containers']];
      for (const c of containers) {
        const where = `${name}/${c['name']}`;
        const sc = c['securityContext'];
        assert.ok(sc, `${where}: securityContext`);
        assert.equal(sc['runAsNonRoot'], true, `${where}: runAsNonRoot`);
        assert.equal(sc['readOnlyRootFilesystem'], true, `${where}: readOnlyRootFilesystem`);
        assert.equal(sc['allowPrivilegeEscalation'], false, `${where}: allowPrivilegeEscalation`);
        assert.deepEqual(sc['capabilities']['drop'], ['ALL'], `${where}: capabilities.drop`);
        assert.equal(sc['seccompProfile']['type'], 'RuntimeDefault', `${where}: seccompProfile`);
        assert.equal(c['image'], `voice-orchestrator:${version}`, `${where}: image tag is the package version (never latest)`);
        assert.doesNotMatch(c['image'], /:latest$|^[^:]+$/);
        for (const kind of ['requests', 'limits']) {
          assert.ok(c['resources']?.[kind]?.['cpu'] && c['resources']?.[kind]?.['memory'], `${where}: resources.${kind} cpu and memory`);
        }
        // a read-only root needs a writable /tmp (tsx's compile cache)
        assert.ok(
          (c['volumeMounts'] as Doc[]).some((m) => m['mountPath'] === '/tmp'),
          `${where}: /tmp mounted`,
        );
      }
      for (const c of pod['containers'] as Doc[]) {
        const where = `${name}/${c['name']}`;
        assert.equal(c['readinessProbe']?.['httpGet']?.['path'], '/ready', `${where}: readiness on /ready`);
        assert.equal(c['livenessProbe']?.['httpGet']?.['path'], '/health', `${where}: liveness on /health`);
        const ops = (c['ports'] as Doc[]).find((p) => p['name'] === 'ops');
        assert.equal(ops?.['containerPort'], 8081, `${where}: ops port is HEALTH_PORT 8081`);
      }
      const drainMs = Number(settings()['SHUTDOWN_TIMEOUT_MS']);
      // main.ts exits at the latest 2 s after the drain deadline; SIGKILL must not come before.
      assert.ok(pod['terminationGracePeriodSeconds'] * 1000 >= drainMs + 2000, `${name}: terminationGracePeriodSeconds covers SHUTDOWN_TIMEOUT_MS`);
    }
  });

  test('secrets are referenced, never given; the settings and assistants ConfigMaps are used', () => {
    assert.equal(byKind('Secret').length, 0, 'no Secret manifest with values');
    const agent = byKind('Deployment').find((d) => d.doc['metadata']['name'] === 'voice-orchestrator-agent')!.doc;
    const container = agent['spec']['template']['spec']['containers'][0] as Doc;
    const secretEnv = (container['env'] as Doc[]).filter((e) => e['valueFrom']?.['secretKeyRef']).map((e) => e['name']);
    assert.deepEqual(secretEnv.sort(), ['LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'OPENAI_API_KEY']);
    for (const { file, doc } of docs()) {
      if (doc['kind'] !== 'ConfigMap') continue;
      for (const key of Object.keys(doc['data'])) assert.doesNotMatch(key, /SECRET|TOKEN|API_KEY/, `${file}: ${key} belongs in the Secret`);
    }
    // ASSISTANTS_FILE points into the mounted assistants ConfigMap
    const assistantsFile = settings()['ASSISTANTS_FILE']!;
    const mount = (container['volumeMounts'] as Doc[]).find((m) => assistantsFile.startsWith(`${m['mountPath']}/`));
    assert.ok(mount, `ASSISTANTS_FILE ${assistantsFile} is under a mount`);
    const volume = (agent['spec']['template']['spec']['volumes'] as Doc[]).find((v) => v['name'] === mount['name']);
    assert.equal(volume?.['configMap']?.['name'], 'voice-orchestrator-assistants');
    const assistants = byKind('ConfigMap').find((d) => d.doc['metadata']['name'] === 'voice-orchestrator-assistants')!.doc;
    assert.ok(assistants['data'][assistantsFile.split('/').pop()!], 'the ConfigMap has the file the path names');
  });

  test('the agent has a PodDisruptionBudget and a CPU HorizontalPodAutoscaler; models and legacy have Services', () => {
    const agentSelector = { 'app.kubernetes.io/name': 'voice-orchestrator', 'app.kubernetes.io/component': 'agent' };
    const pdb = byKind('PodDisruptionBudget').find((d) => d.doc['metadata']['name'] === 'voice-orchestrator-agent')!.doc;
    assert.deepEqual(pdb['spec']['selector']['matchLabels'], agentSelector);
    const hpa = byKind('HorizontalPodAutoscaler')[0]!.doc;
    assert.equal(hpa['spec']['scaleTargetRef']['name'], 'voice-orchestrator-agent');
    assert.equal(hpa['spec']['metrics'][0]['resource']['name'], 'cpu');
    const services = byKind('Service').map((d) => d.doc);
    assert.deepEqual(services.map((s) => s['metadata']['name']).sort(), ['voice-orchestrator-legacy', 'voice-orchestrator-models']);
    const models = services.find((s) => s['metadata']['name'] === 'voice-orchestrator-models')!;
    assert.deepEqual((models['spec']['ports'] as Doc[]).map((p) => p['port']).sort(), [8091, 8092]);
    assert.equal(settings()['LLM_BASE_URL'], 'http://voice-orchestrator-models:8091/v1');
    assert.equal(settings()['STT_BASE_URL'], 'http://voice-orchestrator-models:8092/v1');
  });
});
