import io.drydock.jenkins.Params
import io.drydock.jenkins.Shell

/**
 * Build an image with the drydock executor (kaniko-compatible flags) and return the digest of
 * what it built, read from --digest-file. See drydockBuild.txt.
 */
def call(Map args = [:]) {
  def known = ['context', 'dockerfile', 'destinations', 'buildArgs', 'cache', 'cacheRepo', 'target', 'labels',
               'noPush', 'tarPath', 'extraArgs', 'executor', 'digestFile']
  def unknown = args.keySet().findAll { !(it in known) }
  if (unknown) {
    error("drydockBuild: unknown parameter(s) ${unknown.sort().join(', ')}; expected some of ${known.join(', ')}")
  }
  List destinations = asList(args.destinations, 'destinations')
  boolean noPush = args.noPush == true
  if (!destinations && !noPush) {
    error('drydockBuild: give destinations: [\'registry/repo:tag\', ...], or noPush: true to build without pushing')
  }
  String digestFile = args.digestFile ?: "${pwd(tmp: true)}/drydock-digest-${UUID.randomUUID()}"

  List cmd = [args.executor ?: '/kaniko/executor']
  cmd += ['--context', args.context ?: pwd()]
  cmd += ['--dockerfile', args.dockerfile ?: 'Dockerfile']
  destinations.each { cmd += ['--destination', it] }
  pairs(args.buildArgs, 'buildArgs').each { cmd += ['--build-arg', it] }
  if (args.cache) cmd << '--cache=true'
  if (args.cacheRepo) cmd += ['--cache-repo', args.cacheRepo]
  if (args.target) cmd += ['--target', args.target]
  pairs(args.labels, 'labels').each { cmd += ['--label', it] }
  if (noPush) cmd << '--no-push'
  if (args.tarPath) cmd += ['--tar-path', args.tarPath]
  cmd += ['--digest-file', digestFile]
  cmd += asList(args.extraArgs, 'extraArgs')

  sh(script: Shell.join(cmd), label: 'drydock build')
  return readFile(file: digestFile).trim()
}

private List asList(value, String name) {
  List words = Params.words(value)
  if (words == null) error("drydockBuild: ${name} must be a string or a list of strings, not ${value.getClass().simpleName}")
  return words
}

/** A map becomes KEY=VALUE words in its own order; a list is taken as KEY=VALUE words already. */
private List pairs(value, String name) {
  if (value == null) return []
  if (value instanceof Map) return value.collect { k, v -> "${k}=${v == null ? '' : v}".toString() }
  if (value instanceof Collection) {
    return value.collect {
      String s = it.toString()
      if (!s.contains('=')) error("drydockBuild: ${name} entry \"${s}\" must be KEY=VALUE")
      s
    }
  }
  error("drydockBuild: ${name} must be a map or a list of KEY=VALUE strings, not ${value.getClass().simpleName}")
}
