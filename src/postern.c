/*
 * postern: main(). Dispatches the subcommands of SPEC section 1.
 */
#include <stdio.h>
#include <string.h>

#define POSTERN_VERSION "0.1.0"

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "version") == 0) {
		printf("postern %s\n", POSTERN_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: postern [-c FILE] serve|check-config|domain|user|alias|access|queue|version\n");
	return 2;
}
