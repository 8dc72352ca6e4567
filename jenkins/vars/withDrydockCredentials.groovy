import io.drydock.jenkins.Shell
import io.drydock.jenkins.StepArgs

/**
 * Compose registry credentials with `drydock creds compose`, then run the body with
 * DOCKER_CONFIG pointing at them. See withDrydockCredentials.txt.
 */
def call(Map args = [:], Closure body) {
  def known = ['configDir', 'configs', 'secrets', 'ecr', 'drydock']
  StepArgs.requireKnown(this, 'withDrydockCredentials', args, known)
  String configDir = args.configDir ?: (env.DOCKER_CONFIG ?: '/kaniko/.docker')
  List cmd = [args.drydock ?: 'drydock', 'creds', 'compose', '--config-dir', configDir]
  StepArgs.words(this, 'withDrydockCredentials', args.configs, 'configs').each { cmd += ['--config', it] }
  def secrets = args.secrets ?: [:]
  if (!(secrets instanceof Map)) error('withDrydockCredentials: secrets must be a map of registry to s3://bucket/key or ssm:/parameter')
  secrets.each { registry, source -> cmd += ['--secret', "${registry}=${source}".toString()] }
  StepArgs.words(this, 'withDrydockCredentials', args.ecr, 'ecr').each { cmd += ['--ecr', it] }

  sh(script: Shell.join(cmd), label: 'drydock creds compose')
  withEnv(["DOCKER_CONFIG=${configDir}"]) {
    body()
  }
}

