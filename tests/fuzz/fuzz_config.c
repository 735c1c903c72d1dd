/*
 * libFuzzer target: arbitrary INI text through the settings parser. Either
 * a config or an error naming what is wrong; never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct pawl_error err;
	struct pawl_config *cfg;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cfg = pawl_config_parse(text, "fuzz.ini", NULL, &err);
	if (cfg == NULL && err.message[0] == '\0')
		abort();
	pawl_config_free(cfg);
	free(text);
	return 0;
}
