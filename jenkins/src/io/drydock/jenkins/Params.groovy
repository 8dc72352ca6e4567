package io.drydock.jenkins

/** Step parameters given as one word or a list of words (destinations, extraArgs, ...). */
class Params implements Serializable {
  /**
   * null: none; a string: that word; a collection: its elements as strings. Anything else: null,
   * for the step to report with its own name.
   */
  static List words(Object value) {
    if (value == null) return []
    if (value instanceof CharSequence) return [value.toString()]
    if (value instanceof Collection) return value.collect { it.toString() }
    return null
  }
}
