/* Fuzzes the YOLO importer: the input is classes.txt, a line "---", then one label file. */
#include "fuzz_formats_util.h"

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char *sep = strstr(text, "\n---\n");
    struct formats_dataset *d = formats_dataset_new();
    struct base_err err;
    if (sep) {
        *sep = '\0';
        struct formats_sample *s;
        if (!formats_dataset_add_yolo_classes(d, text, strlen(text), "classes.txt", &err) &&
            (s = formats_dataset_add_image(d, fuzz_image_root(), "images/a.png", "a", &err)))
            formats_dataset_add_yolo_labels(d, s, sep + 5, "labels/a.txt", &err);
    }
    formats_dataset_free(d);
    base_free(text);
    return 0;
}
