import io.drydock.jenkins.StepArgs

/**
 * Build an image with the drydock executor (kaniko-compatible flags) and return the digest of
 * what it built, read from --digest-file. See drydockBuild.txt.
 */
def call(Map args = [:]) {
  def known = ['context', 'dockerfile', 'destinations', 'buildArgs', 'cache', 'cacheRepo', 'target', 'labels',
               'noPush', 'tarPath', 'extraArgs', 'executor', 'digestFile']
  StepArgs.requireKnown(this, 'drydockBuild', args, known)
  List destinations = asList(args.destinations, 'destinations')
  boolean noPush = args.noPush == true
  if (!destinations && !noPush) {
    error('drydockBuild: give destinations: [\'registry/repo:tag\', ...], or noPush: true to build without pushing')
  }

  List cmd = [args.executor ?: '/kaniko/executor']
  cmd += ['--context', args.context ?: pwd()]
  cmd += ['--dockerfile', args.dockerfile ?: 'Dockerfile']
  destinations.each { cmd += ['--destination', it] }
  // a NAME alone: the executor takes the value from the environment (withCredentials), so a
  // secret never appears in the script Jenkins writes or on the command line
  pairs(args.buildArgs, 'buildArgs', true).each { cmd += ['--build-arg', it] }
  if (args.cache) cmd << '--cache=true'
  if (args.cacheRepo) cmd += ['--cache-repo', args.cacheRepo]
  if (args.target) cmd += ['--target', args.target]
  pairs(args.labels, 'labels').each { cmd += ['--label', it] }
  if (noPush) cmd << '--no-push'
  if (args.tarPath) cmd += ['--tar-path', args.tarPath]
  cmd += asList(args.extraArgs, 'extraArgs')

  return StepArgs.runForDigest(this, cmd, 'drydock build', args.digestFile)
}

private List asList(value, String name) {
  return StepArgs.words(this, 'drydockBuild', value, name)
}

/**
 * A map becomes KEY=VALUE words in its own order; a list is taken as KEY=VALUE words already (or,
 * where `bareNames`, a variable NAME whose value comes from the environment).
 */
private List pairs(value, String name, boolean bareNames = false) {
  if (value == null) return []
  if (value instanceof Map) return value.collect { k, v -> "${k}=${v == null ? '' : v}".toString() }
  if (value instanceof Collection) {
    return value.collect {
      String s = it.toString()
      if (!s.contains('=') && !(bareNames && s ==~ /[A-Za-z_][A-Za-z0-9_]*/)) {
        error("drydockBuild: ${name} entry \"${s}\" must be KEY=VALUE${bareNames ? ', or a variable NAME whose value the executor takes from the environment' : ''}")
      }
      s
    }
  }
  error("drydockBuild: ${name} must be a map or a list of KEY=VALUE strings, not ${value.getClass().simpleName}")
}
