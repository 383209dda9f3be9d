/* Fuzzes the TF.js weights reader: the input is model.json, a NUL byte, then the weight data. */
#include "nn/nn.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t jlen = nul ? (size_t)(nul - data) : size;
    const uint8_t *w = nul ? nul + 1 : data + size;
    struct nn_model *m =
        nn_tfjs_parse((const char *)data, jlen, w, size - jlen - (nul ? 1 : 0), NULL);
    nn_model_free(m);
    return 0;
}
