import io.drydock.jenkins.Shell

/**
 * Compose registry credentials with `drydock creds compose`, then run the body with
 * DOCKER_CONFIG pointing at them. See withDrydockCredentials.txt.
 */
def call(Map args = [:], Closure body) {
  def known = ['configDir', 'configs', 'secrets', 'ecr', 'drydock']
  def unknown = args.keySet().findAll { !(it in known) }
  if (unknown) {
    error("withDrydockCredentials: unknown parameter(s) ${unknown.sort().join(', ')}; expected some of ${known.join(', ')}")
  }
  String configDir = args.configDir ?: (env.DOCKER_CONFIG ?: '/kaniko/.docker')
  List cmd = [args.drydock ?: 'drydock', 'creds', 'compose', '--config-dir', configDir]
  words(args.configs, 'configs').each { cmd += ['--config', it] }
  def secrets = args.secrets ?: [:]
  if (!(secrets instanceof Map)) error('withDrydockCredentials: secrets must be a map of registry to s3://bucket/key or ssm:/parameter')
  secrets.each { registry, source -> cmd += ['--secret', "${registry}=${source}".toString()] }
  words(args.ecr, 'ecr').each { cmd += ['--ecr', it] }

  sh(script: Shell.join(cmd), label: 'drydock creds compose')
  withEnv(["DOCKER_CONFIG=${configDir}"]) {
    body()
  }
}

private List words(value, String name) {
  if (value == null) return []
  if (value instanceof CharSequence) return [value.toString()]
  if (value instanceof Collection) return value.collect { it.toString() }
  error("withDrydockCredentials: ${name} must be a string or a list of strings")
}
