// `jenkins-agent --help`: the two ways to use the image, and every setting the shim reads.
export const agentHelp = `Usage:
  jenkins-agent [REMOTING OPTIONS] [SECRET] [AGENT_NAME]   run a Jenkins inbound agent
  jenkins-agent COMMAND [ARGS...]                          run COMMAND instead (e.g. /bin/sh)
  jenkins-agent --help                                     this text (-help goes to remoting)

Agent mode accepts what the jenkins/inbound-agent image accepts, with the same meaning, and
runs the same command: JAVA [JAVA_OPTS] -jar agent.jar [-secret S] [-name N] [-tunnel H:P]
[-url URL] [-workDir D] [-webSocket] [-direct H:P] [-protocols P] [-instanceIdentity I]
[REMOTING_OPTS] ARGS...  For example, what the Amazon ECS plugin passes:
  jenkins-agent -url https://jenkins.example.com/ -tunnel jenkins:50000 SECRET NAME
The secret may be given as @FILE (read by remoting). -url and -protocols may be given more than
once, as remoting takes them: the controller is checked at each -url in turn, the first that
answers is used. Other options given twice in REMOTING_OPTS and the arguments are refused.
The shim's logs mask the secret and the values of -credentials, -jnlpCredentials,
-proxyCredentials, -auth and -webSocketHeader, and of JAVA_OPTS properties named like
*Password, *Secret or *Token (-Dhttps.proxyPassword=...).

Environment (same as jenkins/inbound-agent):
  JENKINS_URL, JENKINS_TUNNEL, JENKINS_SECRET, JENKINS_AGENT_NAME (or JENKINS_NAME),
  JENKINS_AGENT_WORKDIR, JENKINS_WEB_SOCKET=true, JENKINS_DIRECT_CONNECTION,
  JENKINS_INSTANCE_IDENTITY, JENKINS_PROTOCOLS, JENKINS_JAVA_BIN, JAVA_HOME,
  JENKINS_JAVA_OPTS (else JAVA_OPTS), REMOTING_OPTS, JENKINS_AGENT_FILE
  (default /usr/share/jenkins/agent.jar)

Before remoting starts (drydock additions):
  DRYDOCK_CONFIG_SOURCES     whole config.json files to merge (s3://bucket/key), comma separated
  DRYDOCK_REGISTRY_SECRETS   REGISTRY=SOURCE pairs, comma separated (host=ssm:/path,host2=s3://b/k)
  DRYDOCK_ECR                ECR registries / account ids for native login, comma separated
                             (written to $DOCKER_CONFIG/config.json, default $HOME/.docker)
  DRYDOCK_AGENT_SKIP_CHECK=true        do not check the controller over HTTP first
  DRYDOCK_AGENT_CHECK_ATTEMPTS (8), DRYDOCK_AGENT_CHECK_DELAY_MS (1000),
  DRYDOCK_AGENT_CHECK_MAX_DELAY_MS (30000)   retries of that check
  DRYDOCK_AGENT_JAR_DOWNLOAD=auto|always|never   fetch /jnlpJars/agent.jar when the image's is
                             missing or older than the controller's minimum (auto)
  DRYDOCK_AGENT_JAR_CACHE    where a downloaded agent.jar is kept ($HOME/.cache/drydock)
  DRYDOCK_INIT=none|PATH     init used when running as PID 1 (default: catatonit or tini on PATH)
  DRYDOCK_REMOTE=SOCKET      builds run in a builder sidecar (drydock serve) listening there;
                             the shim says whether it answers before remoting starts
  DRYDOCK_LOG_FORMAT=text|json, DRYDOCK_VERBOSITY=info|debug|...

Exit status: remoting's (or COMMAND's); 128+N when it was ended by signal N; 2 for bad
arguments; 127 when java or COMMAND is not found.
`;
