/* formats: what goes into labelloop and what comes out, in Label Studio's shapes — the labeling
 * config XML (parse, validate, derive parsed_label_config), readers of COCO / YOLO / Pascal VOC
 * data sets, streaming exporters (JSON, JSON_MIN, CSV, TSV, COCO, YOLO, VOC) and importers back
 * into Label Studio task JSON. Follows ../shared/spec/label-studio.md sections 1, 4 and 5. Depends
 * on base, jansson, expat and libzip only. Every function is thread-safe on distinct objects; a
 * config is immutable after parsing and may be shared between threads. */
#ifndef LL_FORMATS_H
#define LL_FORMATS_H

#include "base/base.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- labeling config (spec 4) ------------------------------------------------------------------
 */

/* Largest labeling config accepted, and limits of its element tree. */
#define FORMATS_CONFIG_MAX_BYTES (1u << 20)
#define FORMATS_CONFIG_MAX_DEPTH 64
#define FORMATS_CONFIG_MAX_NODES 20000

struct formats_config;

/* Parses and validates a labeling config exactly as Label Studio does on project create/update
 * (spec 4.5 A): strict XML (no DTD, no entities), the schema rules, unique `name="..."` values and
 * every `toName` item naming one of them. On failure returns -1 with BASE_E_INVALID and Label
 * Studio's message ("Label config contains non-unique names", "toName=\"x\" not found in names:
 * ['a', 'b']", "Validation failed on View/Image: 'name' is a required property", or the XML error
 * with line and column); BASE_E_TOOBIG above FORMATS_CONFIG_MAX_BYTES. On success *out is a new
 * config, freed with formats_config_free. */
int formats_config_parse(const char *xml, size_t len, struct formats_config **out,
                         struct base_err *err);
void formats_config_free(struct formats_config *c);

/* parsed_label_config (spec 4.4): {"<control>": {"type", "to_name", "inputs", "labels",
 * "labels_attrs"[, "conditionals"][, "dynamic_labels"]}}, key order as Label Studio writes it.
 * Returns a new reference. */
json_t *formats_config_parsed(const struct formats_config *c);
/* project.data_types: {"image": "Image"}. New reference. */
json_t *formats_config_data_types(const struct formats_config *c);
/* Default control_weights: {"<control>": {"overall": 1.0, "type": "<Tag>", "labels": {...}}}. */
json_t *formats_config_control_weights(const struct formats_config *c);
/* Summary tuples "<from_name>|<to_names comma-joined>|<type lower>", one per control. */
json_t *formats_config_tuples(const struct formats_config *c);
/* First data key of data_types (the name `$undefined$` is renamed to), or NULL if the config has
 * no object tag. Valid while c lives. */
const char *formats_config_first_data_key(const struct formats_config *c);
/* Number of control tags (config_has_control_tags is ncontrols > 0). */
size_t formats_config_ncontrols(const struct formats_config *c);

/* Read-only view of one control tag; pointers valid while the config lives. */
struct formats_control_info {
    const char *name;       /* from_name of its results */
    const char *type;       /* "RectangleLabels" */
    const char *type_lower; /* result "type": "rectanglelabels" */
    const char *to_name;    /* first toName item (the object tag its results point at) */
    const char *data_key;   /* data key of that object tag ("image"), or NULL */
    size_t nlabels;
    const char *const *labels; /* label keys (alias or value) in config order */
};

/* Fills *out for control i (0 <= i < ncontrols). Returns -1 when i is out of range. */
int formats_config_control(const struct formats_config *c, size_t i,
                           struct formats_control_info *out);
/* Index of the first control of the given tag type ("RectangleLabels"), or -1. */
int formats_config_find_type(const struct formats_config *c, const char *type);

/* What the project holds, in the shape of Label Studio's project summary. Any JSON may be NULL. */
struct formats_usage {
    int64_t ntasks;
    int64_t nannotations;
    const json_t *common_data_columns; /* ["image"] */
    const json_t *created_annotations; /* {"label|image|rectanglelabels": 9} */
    const json_t *created_labels;      /* {"label": {"face": 9}} */
};

/* Checks a new config against existing data (spec 4.5 B rules 5-7). Returns 0 when compatible;
 * otherwise -1 with BASE_E_INVALID and Label Studio's text in err (cut to BASE_ERR_MSG); when
 * `detail` is not NULL *detail receives the whole text (base_free). Removing a used label is an
 * error only when `strict` is set. */
int formats_config_check_usage(const struct formats_config *c, const struct formats_usage *u,
                               int strict, char **detail, struct base_err *err);

/* Adds (sign = +1) or removes (sign = -1) one annotation's result list to the summary counters
 * created_annotations ({"from|to|type": n}) and created_labels ({"from": {"label": n}}), as Label
 * Studio's project summary does. Entries reaching 0 are deleted. Items that are not objects are
 * skipped. */
void formats_summary_update(json_t *created_annotations, json_t *created_labels,
                            const json_t *result, int sign);

#endif
