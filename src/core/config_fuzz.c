/*
 * libFuzzer target for core/config: any bytes through config_load_string()
 * and config_free(). Finds crashes, leaks and undefined behaviour in the
 * lexer, the validator and libconfig's parser; a bad input must only be an
 * error, never fatal() or exit(). An accepted input must also survive
 * config_print() and a reload (the check-config round trip).
 * Seeds: tests/fuzz/corpus/config/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
config_fuzz_round_trip(const struct config *cfg)
{
	struct config again;
	char err[512], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return;
	config_print(cfg, f);
	fclose(f);
	if (config_load_string(text, "printed", &again, err, sizeof(err)) != 0) {
		fprintf(stderr, "printed configuration refused: %s\n%s\n", err,
		    text);
		abort();
	}
	config_free(&again);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512], *text;

	/* config_load() refuses files past CONFIG_FILE_MAX before parsing. */
	if (size > CONFIG_FILE_MAX)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_load_string(text, "fuzz", &cfg, err, sizeof(err)) == 0) {
		config_fuzz_round_trip(&cfg);
		config_free(&cfg);
	}
	free(text);
	return 0;
}
