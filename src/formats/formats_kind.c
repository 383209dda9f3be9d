/* The format names Label Studio uses (exportType) and which of them a labeling config supports
 * (converter 0.0.44 _get_supported_formats, spec 5.1). */
#include "formats_int.h"

#include <string.h>
#include <strings.h>

static const char *const kind_names[FORMATS_NKINDS] = {"JSON", "JSON_MIN", "CSV", "TSV",
                                                       "COCO", "YOLO",     "VOC"};

int formats_kind_parse(const char *name, enum formats_kind *out)
{
    if (!strcasecmp(name, "json-min") || !strcasecmp(name, "jsonmin")) {
        *out = FORMATS_JSON_MIN;
        return 0;
    }
    for (int i = 0; i < FORMATS_NKINDS; i++)
        if (!strcasecmp(name, kind_names[i])) {
            *out = (enum formats_kind)i;
            return 0;
        }
    return -1;
}

const char *formats_kind_name(enum formats_kind kind)
{
    return (unsigned)kind < FORMATS_NKINDS ? kind_names[kind] : "?";
}

static int has_control(const struct formats_config *c, const char *type)
{
    return formats_config_find_type(c, type) >= 0;
}

static int has_image_input(const struct formats_config *c)
{
    for (const struct formats_control *k = c->controls; k; k = k->next)
        for (size_t i = 0; i < k->nto; i++)
            for (const struct formats_object *o = c->objects; o; o = o->next)
                if (!strcmp(o->name, k->to_names[i]) && !strcmp(o->type, "Image"))
                    return 1;
    return 0;
}

/* Distinct data keys of the objects the controls point at. */
static size_t count_data_keys(const struct formats_config *c)
{
    const char *seen[64];
    size_t n = 0;
    for (const struct formats_control *k = c->controls; k; k = k->next)
        for (size_t i = 0; i < k->nto; i++)
            for (const struct formats_object *o = c->objects; o; o = o->next) {
                if (strcmp(o->name, k->to_names[i]))
                    continue;
                size_t j = 0;
                while (j < n && strcmp(seen[j], o->value))
                    j++;
                if (j == n && n < 64)
                    seen[n++] = o->value;
            }
    return n;
}

int formats_kind_supported(const struct formats_config *c, enum formats_kind kind)
{
    if (kind <= FORMATS_TSV)
        return 1;
    if (count_data_keys(c) > 1 || !has_image_input(c))
        return 0;
    int rect = has_control(c, "RectangleLabels") ||
               (has_control(c, "Rectangle") && has_control(c, "Labels"));
    if (kind == FORMATS_COCO)
        return rect || has_control(c, "PolygonLabels") ||
               (has_control(c, "Polygon") && has_control(c, "Labels"));
    return rect;
}
