/* Fuzzes every exporter with arbitrary task JSON (results of any shape reach the exporters from
 * stored annotations): each format must either write its file or fail cleanly. */
#include "fuzz_formats_util.h"

static const char *config_xml =
    "<View><Image name=\"image\" value=\"$image\"/>"
    "<RectangleLabels name=\"label\" toName=\"image\"><Label value=\"face\" category=\"2\"/>"
    "<Label value=\"cat\"/></RectangleLabels>"
    "<PolygonLabels name=\"poly\" toName=\"image\"><Label value=\"road\"/></PolygonLabels>"
    "<KeyPointLabels name=\"kp\" toName=\"image\"><Label value=\"nose\"/></KeyPointLabels>"
    "<Choices name=\"q\" toName=\"image\"><Choice value=\"yes\"/></Choices></View>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *tasks = json_loadb((const char *)data, size, 0, NULL);
    struct formats_config *c = NULL;
    struct base_err err;
    if (!json_is_array(tasks) || formats_config_parse(config_xml, strlen(config_xml), &c, &err)) {
        json_decref(tasks);
        return 0;
    }
    char dest[128];
    snprintf(dest, sizeof dest, "%s/out", fuzz_image_root());
    for (int k = 0; k < FORMATS_NKINDS; k++) {
        struct formats_export_opts o = {
            .kind = (enum formats_kind)k, .config = c, .download_resources = 1, .now_us = 1};
        struct formats_export *e = NULL;
        if (formats_export_open(&o, dest, &e, &err))
            continue;
        size_t i;
        json_t *t;
        int rc = 0;
        json_array_foreach(tasks, i, t) if (!rc) rc = formats_export_add(e, t, &err);
        if (rc)
            formats_export_abort(e);
        else
            formats_export_commit(e, &err);
        remove(dest);
    }
    formats_config_free(c);
    json_decref(tasks);
    return 0;
}
