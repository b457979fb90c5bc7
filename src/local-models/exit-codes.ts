/** Exit code of a model server process that cannot start (bad model file, port taken): reported, not retried at start. */
export const EXIT_CANNOT_START = 3;
