/** Thrown by a contender's prepare() for a workload it has no way (or no adapter yet) to run. */
export class Unsupported extends Error {}
