/* fuzz_config.c - libFuzzer harness for the JSON configuration parser. */
#include <stddef.h>
#include <stdint.h>

#include "monitor/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return dm_config_fuzz_one(data, size);
}
