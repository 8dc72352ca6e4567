// The options of remoting's agent launcher (`java -jar agent.jar -help`, remoting 3xxx), with
// how many values each takes. We need the arity to tell option values from the positional
// SECRET and NAME that the ECS plugin passes, and to say "given twice" for options that remoting
// holds in a single field. Unknown options are assumed to take no value and are passed through.

export interface RemotingOption {
  /** number of following words the option consumes */
  arity: 0 | 1;
  /** remoting keeps a list for these, so giving them more than once is legitimate */
  repeatable?: boolean;
  /** another name of that option (args4j aliases): read and counted as that one */
  aliasOf?: string;
}

export const remotingOptions: Record<string, RemotingOption> = {
  // remoting keeps a list of Jenkins URLs and uses the first that answers
  '-url': { arity: 1, repeatable: true },
  '-name': { arity: 1 },
  '-secret': { arity: 1 },
  '-webSocket': { arity: 0 },
  '-webSocketHeader': { arity: 1, repeatable: true },
  '-tunnel': { arity: 1 },
  '-direct': { arity: 1 },
  '-directConnection': { arity: 1, aliasOf: '-direct' },
  '-instanceIdentity': { arity: 1 },
  '-protocols': { arity: 1, repeatable: true },
  '-workDir': { arity: 1 },
  '-internalDir': { arity: 1 },
  '-failIfWorkDirIsMissing': { arity: 0 },
  '-agentLog': { arity: 1 },
  '-loggingConfig': { arity: 1 },
  '-jar-cache': { arity: 1 },
  '-credentials': { arity: 1 },
  '-proxyCredentials': { arity: 1 },
  '-cert': { arity: 1, repeatable: true },
  '-disableHttpsCertValidation': { arity: 0 },
  '-noCertificateCheck': { arity: 0 },
  '-noReconnect': { arity: 0 },
  '-noreconnect': { arity: 0 },
  '-noReconnectAfter': { arity: 1 },
  '-noKeepAlive': { arity: 0 },
  '-headless': { arity: 0 },
  '-jnlpUrl': { arity: 1 },
  '-jnlpCredentials': { arity: 1 },
  '-auth': { arity: 1 },
  '-text': { arity: 0 },
  // deprecated ways of connecting, still accepted by remoting: each takes a value
  '-tcp': { arity: 1 },
  '-connectTo': { arity: 1 },
  '-cp': { arity: 1 },
  '-classpath': { arity: 1, aliasOf: '-cp' },
  '-help': { arity: 0 },
  '-version': { arity: 0 },
};

/** The option's own name for an alias (-directConnection → -direct), else the name itself. */
export function canonicalOption(name: string): string {
  return remotingOptions[name]?.aliasOf ?? name;
}

/** `-workDir=/x` is accepted by remoting's parser as well as `-workDir /x`. */
export function splitInlineValue(word: string): { name: string; value?: string } {
  const eq = word.indexOf('=');
  if (word.startsWith('-') && eq > 1) return { name: word.slice(0, eq), value: word.slice(eq + 1) };
  return { name: word };
}
