// The examples under jenkins/ are configuration people copy: check that each one parses and has
// the keys the Amazon ECS plugin, ECS and IAM expect, and that they agree with each other.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/testbed';
import { parseYamlSubset } from './yaml-subset';

const J = path.join(REPO_ROOT, 'jenkins');
const read = (p: string): string => fs.readFileSync(path.join(J, p), 'utf8');

describe('Jenkins examples: JCasC, ECS task definition, IAM policy, Jenkinsfiles', function () {
  this.timeout(60000);
  const casc = parseYamlSubset(read('casc/ecs-cloud.yaml'), 'casc/ecs-cloud.yaml') as any;
  const task = JSON.parse(read('aws/task-definition.json'));
  const policy = JSON.parse(read('aws/task-role-policy.json'));
  const templates: any[] = casc.jenkins.clouds[0].ecs.templates;

  it('JCasC defines an ECS cloud with Fargate templates using the task role', () => {
    const ecs = casc.jenkins.clouds[0].ecs;
    for (const k of ['name', 'regionName', 'cluster', 'jenkinsUrl', 'templates']) assert.ok(ecs[k] !== undefined, `ecs.${k}`);
    assert.ok(templates.length >= 2);
    for (const t of templates) {
      for (const k of ['templateName', 'label', 'image', 'taskrole', 'executionRole', 'subnets', 'securityGroups', 'remoteFSRoot', 'cpu', 'memoryReservation']) {
        assert.ok(t[k] !== undefined && t[k] !== '', `${t.templateName}.${k}`);
      }
      assert.equal(t.launchType, 'FARGATE');
      assert.equal(t.networkMode, 'awsvpc');
      assert.match(t.taskrole, /^arn:aws:iam::\d{12}:role\//);
      assert.equal(t.remoteFSRoot, '/home/jenkins/agent');
      // RUN steps need root in the build container: the plugin writes containerUser into its task definition
      assert.equal(t.containerUser, '0', `${t.templateName} runs the agent container as root`);
      assert.ok(Number(t.ephemeralStorageSizeInGiB) >= 21, `${t.templateName} has room for base images and layers`);
    }
  });

  it('JCasC has a WebSocket template (JENKINS_WEB_SOCKET=true) and a TCP one', () => {
    const ws = (t: any): boolean => (t.environments ?? []).some((e: any) => e.name === 'JENKINS_WEB_SOCKET' && e.value === 'true');
    assert.ok(templates.some(ws));
    assert.ok(templates.some((t) => !ws(t)));
    assert.equal(casc.unclassified.globalLibraries.libraries[0].name, 'drydock');
  });

  it('the task definition is a Fargate task with an init and the task role', () => {
    assert.deepEqual(task.requiresCompatibilities, ['FARGATE']);
    assert.equal(task.networkMode, 'awsvpc');
    for (const k of ['family', 'cpu', 'memory', 'taskRoleArn', 'executionRoleArn']) assert.equal(typeof task[k], 'string', k);
    const c = task.containerDefinitions[0];
    assert.equal(c.essential, true);
    assert.equal(c.linuxParameters.initProcessEnabled, true);
    assert.ok(c.environment.every((e: any) => typeof e.name === 'string' && typeof e.value === 'string'));
    assert.ok(c.environment.some((e: any) => e.name === 'DOCKER_CONFIG' && e.value === '/kaniko/.docker'));
    assert.equal(task.taskRoleArn, templates[0].taskrole, 'task definition and JCasC name the same task role');
  });

  it('the sidecar task definition: the agent unprivileged, builds in a root builder container it reaches through a shared socket', () => {
    const t = JSON.parse(read('aws/task-definition-sidecar.json'));
    assert.deepEqual(t.requiresCompatibilities, ['FARGATE']);
    assert.equal(t.taskRoleArn, task.taskRoleArn);
    const byName = Object.fromEntries(t.containerDefinitions.map((c: any) => [c.name, c]));
    const agent = byName['jenkins-agent'];
    const builder = byName.builder;
    assert.equal(agent.user, '1000');
    assert.equal(builder.user, '0');
    const socket = agent.environment.find((e: any) => e.name === 'DRYDOCK_REMOTE').value;
    const arg = (flag: string) => builder.command[builder.command.indexOf(flag) + 1];
    assert.deepEqual(builder.command.slice(0, 1), ['serve']);
    assert.equal(arg('--socket'), socket);
    assert.equal(arg('--socket-owner'), '1000:1000', 'the agent\'s user may connect');
    assert.deepEqual(builder.healthCheck.command, ['CMD', '/opt/drydock/bin/drydock', 'remote', '--health', '--socket', socket]);
    assert.deepEqual(agent.dependsOn, [{ containerName: 'builder', condition: 'HEALTHY' }]);
    // the workspace at the same path in both (paths in the build's args mean the same there), the socket's directory shared
    const mounts = (c: any) => Object.fromEntries(c.mountPoints.map((m: any) => [m.sourceVolume, m.containerPath]));
    assert.deepEqual(mounts(agent), mounts(builder));
    assert.equal(mounts(agent).workspace, '/home/jenkins/agent');
    assert.equal(mounts(agent)['builder-socket'], socket.slice(0, socket.lastIndexOf('/')));
    assert.deepEqual(t.volumes.map((v: any) => v.name).sort(), Object.keys(mounts(agent)).sort());
  });

  it('the task role policy allows ECR push, S3 read of the credentials object and SSM read', () => {
    assert.equal(policy.Version, '2012-10-17');
    const allowed = new Set<string>();
    for (const s of policy.Statement) {
      assert.equal(s.Effect, 'Allow');
      assert.ok(s.Resource, `${s.Sid} has a Resource`);
      for (const a of [].concat(s.Action)) allowed.add(a);
    }
    for (const a of ['ecr:GetAuthorizationToken', 'ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart',
      'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 's3:GetObject', 'ssm:GetParameter', 'kms:Decrypt']) {
      assert.ok(allowed.has(a), a);
    }
    // the SSM parameter the examples read is covered by the policy's SSM resource
    const ssm = policy.Statement.find((s: any) => [].concat(s.Action).includes('ssm:GetParameter' as never));
    assert.ok('ssm:/ci/registry/example'.startsWith('ssm:' + ssm.Resource.split(':parameter')[1].replace('*', '')));
  });

  it('the Jenkinsfiles compile as Groovy and use the library steps', () => {
    const files = ['examples/Jenkinsfile.declarative', 'examples/Jenkinsfile.scripted'].map((f) => path.join(J, f));
    // parse only (no run): syntax errors fail here, unknown steps are fine until run time. The
    // @Library annotation class exists only inside Jenkins, so its line is blanked first.
    const parse = "args.each { f -> new GroovyShell().parse(new File(f).text.replaceFirst(/@Library\\([^)]*\\) _/, ''), new File(f).name) }";
    execFileSync('groovy', ['-e', parse, ...files], { stdio: 'pipe' });
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      assert.match(text, /@Library\('drydock'\) _/);
      assert.match(text, /drydockBuild\(/);
      assert.match(text, /withDrydockCredentials\(/);
    }
  });

  it('the YAML reader rejects what it does not understand, with the line', () => {
    assert.throws(() => parseYamlSubset('a:\n  b: 1\n   c: 2\n', 'x.yaml'), /x\.yaml:3: unexpected indentation/);
    assert.throws(() => parseYamlSubset('a: {b: 1}\n', 'x.yaml'), /x\.yaml:1: .*outside the supported YAML subset/);
    assert.throws(() => parseYamlSubset('a: 1\na: 2\n', 'x.yaml'), /x\.yaml:2: duplicate key a/);
    assert.deepEqual(parseYamlSubset('a:\n  - name: "x" # c\n    value: 2\n  - plain\nb: true\n'), { a: [{ name: 'x', value: 2 }, 'plain'], b: true });
  });
});
