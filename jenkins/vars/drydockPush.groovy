import io.drydock.jenkins.StepArgs

/**
 * Push an image an earlier drydockBuild kept (noPush with --oci-layout-path or tarPath), after a
 * scan for instance, and return its digest. See drydockPush.txt.
 */
def call(Map args = [:]) {
  def known = ['path', 'destinations', 'extraArgs', 'executor', 'digestFile']
  StepArgs.requireKnown(this, 'drydockPush', args, known)
  if (!(args.path instanceof CharSequence) || !args.path) {
    error('drydockPush: give path: the OCI layout directory (or DIR:REF) or the tarball the build kept')
  }
  List destinations = StepArgs.words(this, 'drydockPush', args.destinations, 'destinations')
  if (!destinations) error('drydockPush: give destinations: [\'registry/repo:tag\', ...]')

  List cmd = [args.executor ?: '/kaniko/executor', 'push', args.path.toString()]
  destinations.each { cmd += ['--destination', it] }
  cmd += StepArgs.words(this, 'drydockPush', args.extraArgs, 'extraArgs')

  return StepArgs.runForDigest(this, cmd, 'drydock push', args.digestFile)
}

