/* formats: what goes into labelloop and what comes out, in Label Studio's shapes — the labeling
 * config XML (parse, validate, derive parsed_label_config), readers of COCO / YOLO / Pascal VOC
 * data sets, streaming exporters (JSON, JSON_MIN, CSV, TSV, COCO, YOLO, VOC) and importers back
 * into Label Studio task JSON. Follows ../shared/spec/label-studio.md sections 1, 4 and 5. Depends
 * on base, image, jansson, expat and zlib only. Every function is thread-safe on distinct objects;
 * a config is immutable after parsing and may be shared between threads. */
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

/* ---- formats -----------------------------------------------------------------------------------
 */

enum formats_kind {
    FORMATS_JSON,
    FORMATS_JSON_MIN,
    FORMATS_CSV,
    FORMATS_TSV,
    FORMATS_COCO,
    FORMATS_YOLO,
    FORMATS_VOC,
};
#define FORMATS_NKINDS 7

/* "JSON", "JSON_MIN", "CSV", "TSV", "COCO", "YOLO", "VOC" (case-insensitive, "json-min" too).
 * Returns -1 for an unknown name. */
int formats_kind_parse(const char *name, enum formats_kind *out);
/* Label Studio's exportType name ("JSON_MIN"). */
const char *formats_kind_name(enum formats_kind kind);
/* Whether the config supports exporting to `kind` (spec 5.1, converter 0.0.44 rules). */
int formats_kind_supported(const struct formats_config *c, enum formats_kind kind);

/* ---- image header probe ------------------------------------------------------------------------
 */

struct formats_image_info {
    int width, height; /* as displayed: after EXIF orientation */
    int channels;      /* always 3: images are read as RGB (VOC <depth>) */
    int orientation;   /* EXIF orientation 1..8 (1 when absent) */
};

/* Reads only the header of a JPEG, PNG or WebP file (src/image's image_probe). Errors as
 * image_probe_file: BASE_E_NOTFOUND/BASE_E_IO (cannot read), BASE_E_UNSUPPORTED (other format),
 * BASE_E_INVALID (corrupt or truncated header), BASE_E_TOOBIG. */
int formats_image_probe(const char *path, struct formats_image_info *out, struct base_err *err);
int formats_image_probe_mem(const void *data, size_t len, struct formats_image_info *out,
                            struct base_err *err);

/* ---- detection data sets (COCO, YOLO, Pascal VOC) -----------------------------------------------
 */

/* A box in pixels of the image as displayed, x0 <= x1, y0 <= y1, inside the image. */
struct formats_box {
    double x0, y0, x1, y1;
    int cls; /* index into formats_dataset.classes */
};

struct formats_sample {
    char *file; /* the image as the annotation names it ("images/a.jpg", "000001.jpg") */
    char *path; /* the image file found on disk */
    int width, height, channels; /* from the image header, never from the annotation file */
    struct formats_box *boxes;
    size_t nboxes;
};

struct formats_dataset {
    char **classes; /* class names; a box's cls indexes this */
    size_t nclasses;
    struct formats_sample *samples;
    size_t nsamples;
    int lenient;    /* set before reading: see formats_dataset_read_lenient */
    size_t skipped; /* images left out by a lenient read */
};

/* Reads a detection data set from disk:
 *  - COCO: a .json file, or a folder holding result.json / annotations.json / the single .json in
 * annotations/; images are looked up as <root>/<file_name>, <root>/images/<file_name> and
 *    <root>/images/<basename>, <root> being the folder of the json (its parent when that folder is
 *    named "annotations"). Classes are the categories ordered by id.
 *  - YOLO: a folder with classes.txt, images/ and labels/<image stem>.txt (a missing label file
 *    means no boxes); samples in file-name order.
 *  - VOC: a folder with Annotations/ or annotations/ (.xml files) and images/ or JPEGImages/;
 * classes are the object names sorted; samples in file-name order. Image sizes come from the image
 * headers; a box may overhang the image by at most 1 pixel (clamped), more is an error. All or
 * nothing: the first problem returns -1 with BASE_E_INVALID (BASE_E_NOTFOUND for missing files) and
 * a message naming the file and the line or field
 * ("labels/a.txt:3: class 4 not in classes.txt (2 classes)"). *out is freed with
 * formats_dataset_free. */
int formats_dataset_read(const char *path, enum formats_kind kind, struct formats_dataset **out,
                         struct base_err *err);
/* The same for training and evaluation, where one bad picture must not stop the run: an image
 * that is missing or whose header cannot be read is left out with a warning naming it (its boxes
 * too) and counted in (*out)->skipped; every other problem fails as above. Imports stay strict:
 * they copy every image they accept. */
int formats_dataset_read_lenient(const char *path, enum formats_kind kind,
                                 struct formats_dataset **out, struct base_err *err);
void formats_dataset_free(struct formats_dataset *d);
/* Index of class `name`, or -1. */
int formats_dataset_class(const struct formats_dataset *d, const char *name);

/* The parsers behind formats_dataset_read, for annotation files already in memory (uploads):
 * each appends to d (from formats_dataset_new) and resolves images under root. `where` names the
 * input in error messages. YOLO label text is modified in place. */
struct formats_dataset *formats_dataset_new(void);
int formats_dataset_add_coco(struct formats_dataset *d, const char *text, size_t len,
                             const char *root, struct base_err *err);
int formats_dataset_add_voc(struct formats_dataset *d, const char *text, size_t len,
                            const char *root, const char *where, struct base_err *err);
int formats_dataset_add_yolo_classes(struct formats_dataset *d, char *text, size_t len,
                                     const char *where, struct base_err *err);
int formats_dataset_add_yolo_labels(struct formats_dataset *d, struct formats_sample *s, char *text,
                                    const char *where, struct base_err *err);
/* Appends a sample for image `file` (looked up under root, size from its header). */
struct formats_sample *formats_dataset_add_image(struct formats_dataset *d, const char *root,
                                                 const char *file, const char *where,
                                                 struct base_err *err);

/* ---- export (spec 5) ---------------------------------------------------------------------------
 */

/* Maps a task data value (an image URL such as "/data/upload/8/a.jpg") to a readable local file;
 * returns a base_alloc'd path or NULL when the image is not available locally. */
typedef char *(*formats_resolve_fn)(void *ctx, const char *url);

struct formats_export_opts {
    enum formats_kind kind;
    const struct formats_config *config; /* the project's labeling config */
    int download_resources; /* COCO/YOLO/VOC: put the images into the zip (images/<file>) */
    /* COCO without download_resources: `dest` is result.json itself rather than a zip of it */
    int json_only;
    /* NULL: a data value naming an existing local file is used as is. Only for trusted tasks:
     * a server must pass a resolver confining reads to its media folder (api_export.c). */
    formats_resolve_fn resolve;
    void *resolve_ctx;
    int64_t now_us; /* time written into COCO info / YOLO notes (0 = now) */
};

struct formats_export;

/* File extension of the download: "json" (JSON, JSON_MIN), "csv" (CSV and TSV: Label Studio names
 * the TSV file result.csv too) or "zip" (COCO, YOLO, VOC). */
const char *formats_export_ext(enum formats_kind kind);

/* Starts an export written to `dest` (the file, or the zip for COCO/YOLO/VOC), which appears
 * atomically at commit. BASE_E_UNSUPPORTED when the config does not support the format (5.1).
 * Memory stays bounded by the size of one task plus per-image bookkeeping (small), whatever the
 * number of tasks: rows and regions are spooled to temporary files. Not thread-safe: one
 * thread feeds one export. */
int formats_export_open(const struct formats_export_opts *o, const char *dest,
                        struct formats_export **out, struct base_err *err);
/* Adds one task in the Label Studio export shape (spec 1.2: id, annotations[] with full objects,
 * data, ...), in the order they should appear. The task is only read. */
int formats_export_add(struct formats_export *e, const json_t *task, struct base_err *err);
/* Finishes the output and moves it into place; frees e whatever happens. */
int formats_export_commit(struct formats_export *e, struct base_err *err);
/* The same task as JSON text (any spacing). JSON streams it to the file without parsing it into
 * values (formats_json_reemit); the other formats parse it. Errors: BASE_E_INVALID for bad JSON. */
int formats_export_add_text(struct formats_export *e, const char *text, size_t len,
                            struct base_err *err);
/* A task as stored, for the formats that read items (all but JSON): the JSON columns as their
 * stored text, the other fields as values; only what those formats read of the spec 1.2 shape.
 * Passing it gives the same file as passing that shape to formats_export_add_text, without
 * writing the shape out and parsing it back. data's "$undefined$" key is read under the config's
 * first data key (spec 1.2), as for text. */
struct formats_stored_annotation {
    int64_t id;
    int64_t completed_by; /* user id; <= 0: null */
    const char *result;   /* the result array as stored JSON text; NULL: null */
    size_t result_len;
    int was_cancelled;
    int64_t created_at_us, updated_at_us; /* 0: null */
    int has_lead_time;                    /* 0: null */
    double lead_time;                     /* seconds; not finite: left out */
};
struct formats_stored_task {
    int64_t id;
    const char *data; /* the data object as stored JSON text */
    size_t data_len;
    const struct formats_stored_annotation *annotations;
    size_t nannotations;
};
/* Whether the export takes whole tasks as text (JSON: formats_export_add_text) rather than stored
 * tasks (every other format; add_text and add work for those too). */
int formats_export_wants_text(enum formats_kind kind);
/* Adds one stored task (only read). BASE_E_INVALID for unparsable stored JSON or data that is not
 * an object; BASE_E_UNSUPPORTED for JSON exports. */
int formats_export_add_stored(struct formats_export *e, const struct formats_stored_task *t,
                              struct base_err *err);
/* Drops a partial export (no file left behind). Accepts NULL. */
void formats_export_abort(struct formats_export *e);

/* ---- import into Label Studio tasks (spec 5.11) ------------------------------------------------
 */

struct formats_import_opts {
    const struct formats_config *config; /* boxes go to its first RectangleLabels control */
    int as_predictions;                  /* predictions instead of annotations */
    const char *model_version;           /* of those predictions ("" when NULL) */
    struct base_rng *rng;                /* region ids; NULL: deterministic "<sample>_<box>" */
};

/* Checks that the config has a rectangle control for the boxes and that every class used by a
 * box is one of its labels (BASE_E_INVALID "unknown label \"x\" ..."). Call before importing
 * anything: together with the readers' checks this makes imports all or nothing. */
int formats_import_check(const struct formats_dataset *d, const struct formats_import_opts *o,
                         struct base_err *err);
/* The Label Studio task for sample i: {"data": {"<key>": url}, "annotations": [{"result": [...],
 * "ground_truth": false}]} or {"data", "predictions": [{"model_version", "result"}]}; boxes as
 * rectanglelabels results in percent of the real image size, rotation 0. New reference. */
json_t *formats_import_task(const struct formats_dataset *d, size_t i, const char *url,
                            const struct formats_import_opts *o);

/* Parses Label Studio task JSON (a list of tasks or one task; a task without "data" is taken as
 * its data, as Label Studio's importer does) and checks its shape: data an object, annotations
 * and predictions lists of objects with a "result" list. Entries of those lists that are not
 * objects are dropped as Label Studio drops them (its own exports list predictions as ids:
 * "predictions": [78, 86]) and counted in *skipped (may be NULL). Errors name the place
 * ("tasks[3].annotations[0].result: expected a list") or the JSON line and column. *tasks is a new
 * array of task objects each with a "data" key. */
int formats_tasks_parse(const char *text, size_t len, json_t **tasks, size_t *skipped,
                        struct base_err *err);
/* Drops the entries of task[key] (an array) that are not objects; returns how many. */
size_t formats_task_drop_ids(json_t *task, const char *key);
/* Label Studio's CSV (sep ',') and TSV (sep '\t') task files: a header row of data keys, then one
 * task {"data": {...}} per row; each column typed as pandas reads it (integers, reals, booleans,
 * else text; empty cells ""). BASE_E_INVALID naming the line for a malformed file (an unclosed
 * quote, more fields than the header, a header without a name or naming a column twice, more than
 * 1000 columns or 1,000,000 rows, text that is not UTF-8). *tasks: new array. */
int formats_csv_tasks(const char *text, size_t len, char sep, json_t **tasks, struct base_err *err);
/* A TXT task file: one task {"data": {"$undefined$": line}} per non-empty line (trimmed). */
int formats_txt_tasks(const char *text, size_t len, json_t **tasks, struct base_err *err);
/* Adds the rectangles of Label Studio tasks to a data set: per task the newest non-cancelled
 * annotation (or, with use_predictions, the first prediction); sizes from the image (found via
 * resolve, or used as a path) or else from original_width/height. Classes by label name. */
int formats_dataset_add_tasks(struct formats_dataset *d, const json_t *tasks, int use_predictions,
                              formats_resolve_fn resolve, void *ctx, struct base_err *err);

#endif
