package io.drydock.jenkins

/**
 * POSIX sh quoting for commands handed to the `sh` step. Every word that is not made only of
 * characters sh never interprets is put in single quotes; a single quote inside becomes '"'"'.
 * Values therefore reach the program byte for byte: no $ expansion, no globbing, no splitting.
 */
class Shell implements Serializable {
  private static final String SAFE = /^[A-Za-z0-9_@%+=:,.\/-]+$/

  static String quote(Object value) {
    String s = value == null ? '' : value.toString()
    if (s ==~ SAFE) return s
    return "'" + s.replace("'", "'\"'\"'") + "'"
  }

  static String join(List words) {
    return words.collect { quote(it) }.join(' ')
  }
}
