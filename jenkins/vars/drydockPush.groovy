import io.drydock.jenkins.Params
import io.drydock.jenkins.Shell

/**
 * Push an image an earlier drydockBuild kept (noPush with --oci-layout-path or tarPath), after a
 * scan for instance, and return its digest. See drydockPush.txt.
 */
def call(Map args = [:]) {
  def known = ['path', 'destinations', 'extraArgs', 'executor', 'digestFile']
  def unknown = args.keySet().findAll { !(it in known) }
  if (unknown) {
    error("drydockPush: unknown parameter(s) ${unknown.sort().join(', ')}; expected some of ${known.join(', ')}")
  }
  if (!(args.path instanceof CharSequence) || !args.path) {
    error('drydockPush: give path: the OCI layout directory (or DIR:REF) or the tarball the build kept')
  }
  List destinations = asList(args.destinations, 'destinations')
  if (!destinations) error('drydockPush: give destinations: [\'registry/repo:tag\', ...]')
  String digestFile = args.digestFile ?: "${pwd(tmp: true)}/drydock-digest-${UUID.randomUUID()}"

  List cmd = [args.executor ?: '/kaniko/executor', 'push', args.path.toString()]
  destinations.each { cmd += ['--destination', it] }
  cmd += ['--digest-file', digestFile]
  cmd += asList(args.extraArgs, 'extraArgs')

  sh(script: Shell.join(cmd), label: 'drydock push')
  return readFile(file: digestFile).trim()
}

private List asList(value, String name) {
  List words = Params.words(value)
  if (words == null) error("drydockPush: ${name} must be a string or a list of strings, not ${value.getClass().simpleName}")
  return words
}
