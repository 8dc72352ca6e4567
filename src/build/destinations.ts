// --destination values: image references naming where to push, by tag. A digest cannot be pushed
// to (the registry computes it from the manifest), so kaniko's name.NewTag refuses one; accepting
// it silently dropped it or pushed under a tag the user did not mean.
import { parseReference, type Reference } from '../image/reference';
import { UserError } from '../log';

export function parseDestination(d: string): Reference {
  let ref: Reference;
  try {
    ref = parseReference(d);
  } catch (e) {
    throw new UserError(`invalid --destination "${d}": ${(e as Error).message}`);
  }
  if (ref.digest) {
    throw new UserError(
      `invalid --destination "${d}": a destination names a tag to push to, not a digest; drop "@${ref.digest}" `
        + `(the pushed image's digest is what --digest-file and --image-name-with-digest-file write)`,
    );
  }
  return ref;
}

export function parseDestinations(destinations: string[]): Reference[] {
  return destinations.map(parseDestination);
}
