// The jenkins/inbound-agent entrypoint expands most of its variables unquoted ($JAVA_OPTIONS,
// $REMOTING_OPTS, $TUNNEL ...), so sh splits them into words at spaces, tabs and newlines (the
// default IFS) and drops empty results. Reproducing that split is what makes our java command
// identical to theirs. Quotes inside such values are NOT interpreted by sh either: they stay
// literal characters of a word, and so they do here.

const IFS = /[ \t\n]+/;

/** Split a value the way sh splits an unquoted expansion with the default IFS. */
export function splitUnquoted(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(IFS).filter((w) => w.length > 0);
}

/** True when sh would also try pathname expansion on this word (it contains *, ? or [). */
export function hasGlobCharacters(word: string): boolean {
  return /[*?[]/.test(word);
}
