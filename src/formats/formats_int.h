/* Shared between the files of src/formats: a small element tree built with expat (used by the
 * labeling config and the Pascal VOC reader), the parsed labeling config, and helpers that write
 * JSON the way Python's json module does. */
#ifndef LL_FORMATS_INT_H
#define LL_FORMATS_INT_H

#include "formats.h"

#include <jansson.h>

/* ---- XML element tree --------------------------------------------------------------------------
 */

struct formats_xml_node {
    const char *name;
    const char **attrs; /* name, value, name, value, ..., NULL */
    size_t nattrs;
    const char *text; /* character data of a leaf element, "" otherwise */
    unsigned line;
    struct formats_xml_node *parent, *first_child, *last_child, *next;
};

struct formats_xml_limits {
    size_t max_bytes;
    unsigned max_depth;
    size_t max_nodes;
};

/* Parses `len` bytes into a tree allocated in `arena`. A DOCTYPE, any entity declaration or
 * reference, more nesting than max_depth or more elements than max_nodes is an error
 * (BASE_E_INVALID, "line L, column C: ..."). */
int formats_xml_parse(const char *data, size_t len, const struct formats_xml_limits *lim,
                      struct base_arena *arena, struct formats_xml_node **root,
                      struct base_err *err);
/* Value of attribute `name`, or NULL. */
const char *formats_xml_attr(const struct formats_xml_node *n, const char *name);
/* First child element named `name`, or NULL. */
const struct formats_xml_node *formats_xml_child(const struct formats_xml_node *n,
                                                 const char *name);
/* Pre-order successor of n within the tree rooted at root, or NULL. */
const struct formats_xml_node *formats_xml_next(const struct formats_xml_node *n,
                                                const struct formats_xml_node *root);

/* ---- parsed labeling config --------------------------------------------------------------------
 */

struct formats_label {
    const char *key; /* alias or value */
    const char **attrs;
    size_t nattrs;
    const char *category; /* `category` attribute or NULL */
    struct formats_label *next;
};

struct formats_control {
    const char *name;
    const char *type;       /* tag name as written: "RectangleLabels" */
    const char *type_lower; /* "rectanglelabels" */
    const char *to_name;    /* raw toName attribute */
    const char **to_names;
    size_t nto;
    struct formats_label *labels; /* in config order */
    size_t nlabels;
    const char **label_keys; /* built after parsing, for formats_control_info */
    int dynamic;
    const char *cond_type, *cond_name; /* conditionals or NULL */
    struct formats_control *next;
};

struct formats_object {
    const char *name;
    const char *type;
    const char *value; /* value attribute with leading '$' stripped */
    struct formats_object *next;
};

struct formats_data_type {
    const char *key;
    const char *tag;
    struct formats_data_type *next;
};

struct formats_config {
    struct base_arena *arena;
    struct formats_control *controls; /* in document order */
    struct formats_object *objects;
    struct formats_data_type *data_types; /* in first-seen order, last assignment wins */
    size_t ncontrols;
};

const struct formats_control *formats_config_control_find(const struct formats_config *c,
                                                          const char *name);

/* ---- Python-compatible JSON --------------------------------------------------------------------
 */

/* The most bytes one piece of export text may take in memory (a task's JSON, a file held for the
 * zip, a CSV or COCO document's parts): beyond it the export fails with BASE_E_TOOBIG. */
#define FORMATS_TEXT_MAX ((size_t)1 << 30)

/* Writes `v` like Python's json.dumps(v, ensure_ascii=False) with the given indent (-1 = compact
 * with ", " and ": " separators, the json.dumps default) into f. Key order as stored (jansson keeps
 * insertion order). Floats use base_fmt_double; integers stay integers. */
int formats_json_write(FILE *f, const json_t *v, int indent, int level);
/* Same, into a bounded buffer. */
int formats_json_buf(struct base_buf *b, const json_t *v, int indent, struct base_err *err);
/* Re-emits JSON text exactly as formats_json_write would write base_json_parse's value of it,
 * without building the value (one pass; falls back to the tree for objects with repeated or
 * escaped keys). Accepts exactly what base_json_parse accepts. The output is left in r->out
 * (r->out.len bytes), valid until the next call; the struct starts zeroed and is reused across
 * calls (its buffers only grow). Returns 0, or -1 with BASE_E_INVALID ("invalid JSON at byte 12:
 * ...") or BASE_E_TOOBIG (output beyond FORMATS_TEXT_MAX). */
struct formats_json_reemit {
    struct base_buf out; /* limit FORMATS_TEXT_MAX: beyond it BASE_E_TOOBIG */
    char *tmp;
    size_t tmpcap;
    void *keys;
    size_t capkeys;
};
int formats_json_reemit(struct formats_json_reemit *r, const char *text, size_t len, int indent,
                        int level, struct base_err *err);
void formats_json_reemit_release(struct formats_json_reemit *r);
/* A JSON value parsed into an arena (formats_jv_parse): what the item formats read of a task.
 * Strings are not NUL-terminated (n bytes); src/srclen is the value's text, for writing nested
 * values with formats_json_reemit. Object members keep jansson's order and, for a repeated key,
 * its value (first position, last value). */
enum formats_jv_type {
    FORMATS_JV_NULL,
    FORMATS_JV_FALSE,
    FORMATS_JV_TRUE,
    FORMATS_JV_INT,
    FORMATS_JV_REAL,
    FORMATS_JV_STRING,
    FORMATS_JV_ARRAY,
    FORMATS_JV_OBJECT
};
struct formats_jm;
struct formats_jv {
    int type;
    size_t n; /* string bytes, array elements or object members */
    const char *s;
    long long i;
    double d;
    struct formats_jm *kids; /* elements (key NULL) or members */
    const char *src;
    size_t srclen;
};
struct formats_jm {
    const char *key;
    size_t klen;
    struct formats_jv v;
};
/* Parser state reused across calls (starts zeroed); its arena holds the values of every parse
 * since the last formats_jv_reset (one reset per task, no free per value). */
struct formats_jv_parser {
    struct base_arena *arena;
    char *tmp;
    size_t tmpcap;
    struct formats_jm *stack;
    size_t cap;
};
/* Parses `text` (which must outlive the values) into *out. Accepts exactly what base_json_parse
 * accepts; otherwise -1 with BASE_E_INVALID ("invalid JSON at byte 12: ..."). */
int formats_jv_parse(struct formats_jv_parser *jp, const char *text, size_t len,
                     struct formats_jv *out, struct base_err *err);
/* Drops the values of every parse so far (keeps the arena's first block). */
void formats_jv_reset(struct formats_jv_parser *jp);
void formats_jv_parser_release(struct formats_jv_parser *jp);
/* Member `key` of an object (NULL if absent or o is not an object). */
const struct formats_jv *formats_jv_get(const struct formats_jv *o, const char *key);
/* Numeric value of an integer or real; 0 for anything else (and NULL). */
double formats_jv_num(const struct formats_jv *v);
/* Numeric value of a JSON integer or real; 0 for anything else. */
double formats_json_num(const json_t *v);

/* ---- data set building -------------------------------------------------------------------------
 */

/* Largest annotation file read whole (COCO json, label txt, VOC xml). */
#define FORMATS_ANN_MAX_BYTES (512u << 20)

/* Appends a class and returns its index (the existing index when already present). */
int formats_dataset_add_class(struct formats_dataset *d, const char *name);
/* Checks a pixel box against the sample's size (1 pixel of slack, clamped) and appends it. */
int formats_sample_add_box(struct formats_sample *s, double x0, double y0, double x1, double y1,
                           int cls, const char *where, struct base_err *err);
/* Sorted names of the regular files in dir with one of the extensions (NULL = any). Returns the
 * count, or -1 if dir cannot be read. *names and each entry are freed with formats_names_free. */
long formats_list_dir(const char *dir, const char *const *exts, char ***names);
void formats_names_free(char **names, long n);
/* Image file extensions we read. */
extern const char *const formats_image_exts[];

/* ---- zip output (formats_zip.c) ----------------------------------------------------------------
 * An archive written front to back into an atomic file (it appears at commit): local header and
 * data of each entry as it comes, the central directory (kept in memory: ~70 bytes and the name
 * per entry) at the end. Entries are stored below 16 KB and deflated (level 1) above, image files
 * always stored. A name added again replaces its entry and keeps its place in the directory (as
 * libzip's ZIP_FL_OVERWRITE did); the replaced bytes stay in the file, unreferenced, unless the
 * entry was still held (formats_zip_add). Not thread-safe; one writer per archive. */
struct formats_zip;
/* Sizes, offsets and counts from this value on are written in Zip64 form. */
#define FORMATS_ZIP64_FROM 0xFFFFFFFFu
/* Starts an archive at path (its temporary file next to it). Entry times are now_us (local time,
 * as zip stores them) unless they come from a file. zip64_from is FORMATS_ZIP64_FROM; tests pass
 * smaller values to reach the Zip64 records. NULL with BASE_E_IO when the file cannot be made. */
struct formats_zip *formats_zip_open(const char *path, int64_t now_us, uint64_t zip64_from,
                                     struct base_err *err);
/* Whether an entry of that name has been added. */
int formats_zip_has(const struct formats_zip *z, const char *name);
/* A directory entry "name/". */
int formats_zip_dir(struct formats_zip *z, const char *name, struct base_err *err);
/* Adds a copy of data. The entry is held in memory until the next formats_zip_add, so adding the
 * same name again right away (the next annotation of the same image) replaces it without writing
 * it. late: listed after every entry that is not (label files after classes.txt, notes.json). */
int formats_zip_add(struct formats_zip *z, const char *name, const void *data, size_t len, int late,
                    struct base_err *err);
/* Adds the file at path (stored, with its modification time). BASE_E_IO if it cannot be read. */
int formats_zip_add_file(struct formats_zip *z, const char *name, const char *path,
                         struct base_err *err);
/* A streamed entry of exactly `size` bytes: begin, write its bytes in pieces, end (which fails if
 * the pieces did not add up to size). No other entry may be added in between. */
int formats_zip_begin(struct formats_zip *z, const char *name, uint64_t size, struct base_err *err);
int formats_zip_write(struct formats_zip *z, const void *p, size_t n, struct base_err *err);
int formats_zip_end(struct formats_zip *z, struct base_err *err);
/* Writes the held entry, the directory and the end records, and moves the file into place. Frees
 * z in all cases; on failure no file is left behind. */
int formats_zip_commit(struct formats_zip *z, struct base_err *err);
/* Drops the archive (no file left behind). Accepts NULL. */
void formats_zip_abort(struct formats_zip *z);

/* ---- export internals --------------------------------------------------------------------------
 */

/* One exported record (spec 5.2), a task with one of its annotations (or none), read from the
 * task parsed by formats_jv_parse: results of known controls grouped by control, in first-seen
 * order. */
struct formats_lout {
    const struct formats_control *k;
    const char *name; /* from_name */
    size_t nlen;
    const struct formats_jv **results; /* the result objects (value is an object) */
    size_t n;
};
struct formats_litem {
    long long id;
    const struct formats_jv *task, *data;
    const char *undef_key; /* write data's "$undefined$" key under this name, or NULL */
    const struct formats_jv *annotation; /* NULL for a task without annotations */
    struct formats_lout *out;
    size_t nout;
};

struct formats_export;

struct formats_writer {
    int zipped;
    int (*open)(struct formats_export *e, struct base_err *err);
    /* JSON takes whole tasks as text; the others take items read from the light parse */
    int (*task)(struct formats_export *e, const char *text, size_t len, struct base_err *err);
    int (*litem)(struct formats_export *e, const struct formats_litem *it, struct base_err *err);
    int (*commit)(struct formats_export *e, struct base_err *err);
    void (*release)(struct formats_export *e);
};

struct formats_export {
    struct formats_export_opts o;
    const struct formats_writer *w;
    char *dest;
    struct base_afile *af; /* single-file outputs */
    FILE *f;
    struct formats_zip *zip; /* archives */
    void *st;                /* the writer's own state */
    FILE *scratch;           /* reusable memory stream for JSON cells (CSV) */
    char *scratch_buf;
    size_t scratch_len;
    json_t *categories; /* COCO/YOLO: [{"id", "name"}] */
    json_t *cat_ids;    /* name -> id */
    json_int_t next_cat;
    size_t nitems;
    struct formats_json_reemit reemit; /* JSON: the canonical text of the current task */
    struct formats_jv_parser jp;       /* item formats: the current task */
    struct base_buf out;               /* item formats: the current record */
};

/* True when a COCO export writes its result.json alone (json_only without images). */
static inline int formats_export_json_only(const struct formats_export_opts *o)
{
    return o->json_only && o->kind == FORMATS_COCO && !o->download_resources;
}

extern const struct formats_writer formats_writer_json, formats_writer_json_min, formats_writer_csv,
    formats_writer_tsv, formats_writer_coco, formats_writer_yolo, formats_writer_voc;

/* Category ids as the converter assigns them (explicit Label category="" first). */
void formats_export_categories(struct formats_export *e);
/* Id of label `name`, appending an unknown one. */
json_int_t formats_export_category(struct formats_export *e, const char *name);
/* File name an image URL gets inside the export ("/data/upload/8/a.jpg" -> "a.jpg"). base_alloc'd.
 */
char *formats_export_image_name(const char *url);
/* Local path of the task's image, or NULL. base_alloc'd. */
char *formats_export_image_path(struct formats_export *e, const char *url);
/* Copies the image into the archive as images/<name> (once per name) when download_resources.
 * `path` is the image's resolved path when the caller has it, else NULL (resolved here when
 * needed). Failure to find it is not an error (the converter logs and goes on). */
int formats_export_zip_image(struct formats_export *e, const char *url, const char *path,
                             struct base_err *err);
/* A string value as C code sees it (up to a NUL byte), NUL-terminated in the task's arena (valid
 * until the next task); NULL if v is not a string. */
const char *formats_jv_cstr(struct formats_export *e, const struct formats_jv *v);
/* The data value of the first data key: the task's image URL (in the task's arena), or NULL. */
const char *formats_litem_image(struct formats_export *e, const struct formats_litem *it);
/* The item's result objects in order, flattened over controls, into *out (the task's arena).
 * Returns the count. */
size_t formats_litem_regions(struct formats_export *e, const struct formats_litem *it,
                             const struct formats_jv ***out);
/* Field `key` of a region as the converter sees it: the result's original_width/height when it
 * has them, the value's field otherwise. NULL if absent. */
const struct formats_jv *formats_region_get(const struct formats_jv *r, const char *key);
/* Numeric value of a region field; 0 when absent or not a number. */
double formats_region_num(const struct formats_jv *r, const char *key);
/* Axis-aligned bounds [x0, y0, x1, y1] of a rectangle rotated clockwise by deg degrees about
 * its top-left corner (Label Studio's rotation), all in pixels. */
void formats_rotated_bounds(double x, double y, double w, double h, double deg, double out[4]);
/* Python's int() of a pixel coordinate as the converter computes it, but forgiving 1e-6 of
 * floating-point noise (int(80.99999999999999) is 80 in Python, which loses a pixel on every
 * percent -> pixel round trip of an integer box). */
long long formats_trunc_px(double v);
#endif
