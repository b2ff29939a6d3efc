/** Exit codes of every ssdk command (documented in docs/cli.md). */
export const EXIT_OK = 0;
/** Something outside the user's files failed (a server, the file system, a bug). */
export const EXIT_FAILURE = 1;
/** The user's input is wrong: a bad services file, a bad flag. */
export const EXIT_USER_ERROR = 2;
