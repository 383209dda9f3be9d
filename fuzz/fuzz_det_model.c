/* Fuzzes the detector's model-file loading: safetensors parsing (nn), the metadata that
 * describes the model (format, architecture, input size, classes, normalisation) and the
 * check that the tensors match the declared architecture. */
#include "det/det.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct det_model *m = det_model_load_mem(data, size, NULL);
    if (m && det_model_info(m)->nclasses < 1)
        __builtin_trap();
    det_model_free(m);
    return 0;
}
