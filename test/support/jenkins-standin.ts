// Stand-ins for what a Jenkins agent talks to, because a Jenkins controller cannot run here.
// Both are written from the published remoting contract, not from Jenkins' code:
//  - the controller's HTTP endpoints an inbound agent (and our shim) uses: /tcpSlaveAgentListener/
//    with X-Jenkins-JNLP-Port, X-Jenkins-Agent-Protocols, X-Instance-Identity and
//    X-Remoting-Minimum-Version headers; /login; /jnlpJars/agent.jar; the /wsagents/ WebSocket
//    endpoint and a TCP agent port, which only record that someone connected (the shim must not);
//  - an `agent.jar` compiled here with javac whose main class records the java command it was
//    started with (binary, JVM options, jar, arguments, environment) and then exits, sleeps, or
//    waits for a signal, as the test asks through STANDIN_* variables.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebSocketServer } from 'ws';

const JAVA_SOURCE = String.raw`
import java.io.*;
import java.lang.management.ManagementFactory;
import java.util.*;

public class StandinAgent {
  static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
  static String arr(List<String> l) {
    StringJoiner j = new StringJoiner(",", "[", "]");
    for (String s : l) j.add(q(s));
    return j.toString();
  }
  static void write(String file, String text, boolean append) throws IOException {
    try (Writer w = new OutputStreamWriter(new FileOutputStream(file, append), "UTF-8")) { w.write(text); }
  }
  public static void main(String[] args) throws Exception {
    StringJoiner env = new StringJoiner(",", "{", "}");
    for (Map.Entry<String, String> e : new TreeMap<>(System.getenv()).entrySet()) env.add(q(e.getKey()) + ":" + q(e.getValue()));
    String json = "{\"command\":" + q(ProcessHandle.current().info().command().orElse(""))
        + ",\"javaCommand\":" + q(System.getProperty("sun.java.command"))
        + ",\"jvmArgs\":" + arr(ManagementFactory.getRuntimeMXBean().getInputArguments())
        + ",\"args\":" + arr(Arrays.asList(args))
        + ",\"env\":" + env + "}\n";
    String rec = System.getenv("STANDIN_RECORD");
    if (rec != null) write(rec, json, false);
    final String events = System.getenv("STANDIN_EVENTS");
    if (events != null) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try { write(events, "shutdown\n", true); } catch (IOException e) { }
      }));
    }
    String sleep = System.getenv("STANDIN_SLEEP_MS");
    if (sleep != null) {
      if (events != null) write(events, "ready\n", true);
      Thread.sleep(Long.parseLong(sleep));
    }
    String exit = System.getenv("STANDIN_EXIT");
    System.exit(exit == null ? 0 : Integer.parseInt(exit));
  }
}
`;

export interface Recording {
  command: string;
  /** "JAR ARGS..." as the JVM saw it */
  javaCommand: string;
  jvmArgs: string[];
  args: string[];
  env: Record<string, string>;
}

let buildDir: string | undefined;
const jars = new Map<string, string>();

/** A stand-in agent.jar whose manifest says `Version: version`; compiled once per test run. */
export function standinAgentJar(version: string): string {
  const cached = jars.get(version);
  if (cached) return cached;
  if (!buildDir) {
    buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drydock-standin-jar-'));
    fs.writeFileSync(path.join(buildDir, 'StandinAgent.java'), JAVA_SOURCE);
    execFileSync('javac', ['--release', '17', '-d', buildDir, path.join(buildDir, 'StandinAgent.java')], { stdio: 'pipe' });
  }
  const manifest = path.join(buildDir, `manifest-${version}.txt`);
  fs.writeFileSync(manifest, `Main-Class: StandinAgent\nVersion: ${version}\n`);
  const jar = path.join(buildDir, `agent-${version}.jar`);
  execFileSync('jar', ['cfm', jar, manifest, '-C', buildDir, 'StandinAgent.class'], { stdio: 'pipe' });
  jars.set(version, jar);
  return jar;
}

export function readRecording(file: string): Recording {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Recording;
}

export interface StandinOptions {
  /** status of /tcpSlaveAgentListener/ (200) */
  listenerStatus?: number;
  /** X-Jenkins-JNLP-Port: a number, null to omit; default: the stand-in's own TCP agent port */
  agentPort?: number | null;
  protocols?: string;
  instanceIdentity?: string;
  minRemotingVersion?: string;
  loginStatus?: number;
  /** answer 503 to the first N requests of the check endpoints (Jenkins starting up) */
  unavailableFirst?: number;
  /** file served as /jnlpJars/agent.jar; absent → 404 */
  agentJar?: string;
  /** serve these bytes as /jnlpJars/agent.jar instead (a broken download) */
  agentJarBody?: Buffer;
}

export interface JenkinsStandin {
  url: string;
  requests: string[];
  /** WebSocket upgrades to /wsagents/ and TCP agent port connections: both must stay empty */
  agentConnections: string[];
  options: StandinOptions;
  close(): Promise<void>;
}

export async function startJenkinsStandin(options: StandinOptions = {}): Promise<JenkinsStandin> {
  const requests: string[] = [];
  const agentConnections: string[] = [];
  let answered503 = 0;

  const tcpAgentPort = net.createServer((s) => {
    agentConnections.push('tcp');
    s.destroy();
  });
  await new Promise<void>((r) => tcpAgentPort.listen(0, '127.0.0.1', r));
  const agentPort = (tcpAgentPort.address() as net.AddressInfo).port;

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(`${req.method} ${url}`);
    const common = { 'X-Jenkins': '2.462.3', 'X-Remoting-Minimum-Version': options.minRemotingVersion };
    const headers = (extra: Record<string, string | undefined>): Record<string, string> =>
      Object.fromEntries(Object.entries({ ...common, ...extra }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    if ((url === '/tcpSlaveAgentListener/' || url === '/login') && answered503 < (options.unavailableFirst ?? 0)) {
      answered503++;
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end('Jenkins is getting ready to work');
      return;
    }
    if (url === '/tcpSlaveAgentListener/') {
      const port = options.agentPort === undefined ? agentPort : options.agentPort;
      res.writeHead(options.listenerStatus ?? 200, headers({
        'X-Jenkins-JNLP-Port': port === null ? undefined : String(port),
        'X-Jenkins-Agent-Protocols': options.protocols ?? 'JNLP4-connect, Ping',
        'X-Instance-Identity': options.instanceIdentity ?? 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAstandin',
        'Content-Type': 'text/plain',
      })).end('Jenkins');
      return;
    }
    if (url === '/login') {
      res.writeHead(options.loginStatus ?? 200, headers({ 'Content-Type': 'text/html' })).end('<html>login</html>');
      return;
    }
    if (url === '/jnlpJars/agent.jar') {
      if (options.agentJarBody) {
        res.writeHead(200, { 'Content-Type': 'application/java-archive', 'Content-Length': String(options.agentJarBody.length) }).end(options.agentJarBody);
      } else if (options.agentJar) {
        const size = fs.statSync(options.agentJar).size;
        res.writeHead(200, { 'Content-Type': 'application/java-archive', 'Content-Length': String(size) });
        fs.createReadStream(options.agentJar).pipe(res);
      } else {
        res.writeHead(404).end();
      }
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    agentConnections.push(`ws ${req.url}`);
    if (req.url !== '/wsagents/') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(1008, 'stand-in'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    agentConnections,
    options,
    close: async () => {
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => tcpAgentPort.close(() => r()));
    },
  };
}
