/* cli: the command line. main() hands argv to cli_main, which dispatches to one command from a
 * table; each command lives in its own cli_<name>.c and parses its own options. */
#ifndef LL_CLI_H
#define LL_CLI_H

/* Runs the command named by argv[1]; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
