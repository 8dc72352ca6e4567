package io.drydock.jenkins

/**
 * What the library's steps share: checking their parameters, and running the executor for the
 * digest it writes. `script` is the step's own script, through which Jenkins steps (error, sh,
 * readFile, pwd) are called; `step` names the step in every message.
 */
class StepArgs implements Serializable {
  /** Fails on a parameter the step does not know (a misspelt one would otherwise do nothing). */
  static void requireKnown(script, String step, Map args, List known) {
    def unknown = args.keySet().findAll { !(it in known) }
    if (unknown) {
      script.error("${step}: unknown parameter(s) ${unknown.sort().join(', ')}; expected some of ${known.join(', ')}")
    }
  }

  /** null: none; a string: that word; a collection: its elements as strings. Anything else fails. */
  static List words(script, String step, Object value, String name) {
    if (value == null) return []
    if (value instanceof CharSequence) return [value.toString()]
    if (value instanceof Collection) return value.collect { it.toString() }
    script.error("${step}: ${name} must be a string or a list of strings, not ${value.getClass().simpleName}")
  }

  /**
   * Runs the executor command (adding --digest-file) and returns the digest it wrote. Without a
   * digestFile, one of the build's own in the workspace's tmp directory.
   */
  static String runForDigest(script, List cmd, String label, String digestFile) {
    String file = digestFile ?: "${script.pwd(tmp: true)}/drydock-digest-${UUID.randomUUID()}"
    script.sh(script: Shell.join(cmd + ['--digest-file', file]), label: label)
    return script.readFile(file: file).trim()
  }
}
