/* The export pipeline shared by every format: opens the destination (file or zip), turns each
 * task into the converter's items (spec 5.2: cancelled annotations dropped, newest first, one item
 * per annotation, results grouped by control) and hands them to the format's writer. */
#include "formats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct formats_writer *const writers[FORMATS_NKINDS] = {
    &formats_writer_json, &formats_writer_json_min, &formats_writer_csv, &formats_writer_tsv,
    &formats_writer_coco, &formats_writer_yolo,     &formats_writer_voc,
};

const char *formats_export_ext(enum formats_kind kind)
{
    static const char *const ext[FORMATS_NKINDS] = {"json", "json", "csv", "csv",
                                                    "zip",  "zip",  "zip"};
    return (unsigned)kind < FORMATS_NKINDS ? ext[kind] : "bin";
}

static int open_dest(struct formats_export *e, struct base_err *err)
{
    if (!e->w->zipped || formats_export_json_only(&e->o)) {
        e->af = base_afile_open(e->dest, err);
        if (!e->af)
            return -1;
        e->f = base_afile_stream(e->af);
        return 0;
    }
    e->zip = formats_zip_open(e->dest, e->o.now_us, FORMATS_ZIP64_FROM, err);
    return e->zip ? 0 : -1;
}

int formats_export_open(const struct formats_export_opts *o, const char *dest,
                        struct formats_export **out, struct base_err *err)
{
    if ((unsigned)o->kind >= FORMATS_NKINDS)
        return base_err_set(err, BASE_E_UNSUPPORTED, "unknown export format");
    if (!formats_kind_supported(o->config, o->kind))
        return base_err_set(err, BASE_E_UNSUPPORTED,
                            "export format %s is not supported by this labeling config",
                            formats_kind_name(o->kind));
    struct formats_export *e = base_calloc(1, sizeof *e);
    e->o = *o;
    if (!e->o.now_us)
        e->o.now_us = base_time_us();
    e->w = writers[o->kind];
    e->dest = base_strdup(dest);
    base_buf_init(&e->out, FORMATS_TEXT_MAX);
    if (open_dest(e, err) || (e->w->open && e->w->open(e, err))) {
        formats_export_abort(e);
        return -1;
    }
    *out = e;
    return 0;
}

/* ---- items ------------------------------------------------------------------------------------
 */

/* The data with $undefined$ renamed to the config's first data key (spec 1.2). */
static json_t *task_data(const struct formats_export *e, const json_t *task)
{
    json_t *data = json_object_get(task, "data");
    const char *key = formats_config_first_data_key(e->o.config);
    json_t *undef = json_object_get(data, "$undefined$");
    if (!undef || !key || json_object_get(data, key))
        return json_incref(data);
    json_t *copy = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(data, k, v) json_object_set(copy, strcmp(k, "$undefined$") ? k : key, v);
    return copy;
}

/* ---- items from the light parse (formats ported off jansson) ------------------------------- */

static int jv_true(const struct formats_jv *v)
{
    return v && v->type == FORMATS_JV_TRUE;
}

/* A string value as C code sees it (up to a NUL byte, as json_string_value does); NULL if v is
 * not a string. */
static const char *jv_cstr(const struct formats_jv *v, size_t *len)
{
    if (!v || v->type != FORMATS_JV_STRING)
        return NULL;
    *len = strnlen(v->s, v->n);
    return v->s;
}

static int jv_newer(const struct formats_jv *a, const struct formats_jv *b)
{
    size_t la = 0, lb = 0;
    const char *sa = jv_cstr(formats_jv_get(a, "created_at"), &la);
    const char *sb = jv_cstr(formats_jv_get(b, "created_at"), &lb);
    int c = memcmp(sa ? sa : "", sb ? sb : "", la < lb ? la : lb);
    return c ? c > 0 : la > lb;
}

static const struct formats_control *control_named(const struct formats_config *c, const char *s,
                                                   size_t n)
{
    for (const struct formats_control *k = c->controls; k; k = k->next)
        if (strlen(k->name) == n && !memcmp(k->name, s, n))
            return k;
    return NULL;
}

/* Results of known controls with an object value, grouped by control in first-seen order. */
static void litem_output(struct formats_export *e, struct formats_litem *it)
{
    const struct formats_jv *res = formats_jv_get(it->annotation, "result");
    size_t n = res && res->type == FORMATS_JV_ARRAY ? res->n : 0;
    struct base_arena *a = e->jp.arena;
    it->out = base_arena_alloc(a, (n ? n : 1) * sizeof *it->out), it->nout = 0;
    for (size_t i = 0; i < n; i++) {
        const struct formats_jv *r = &res->kids[i].v, *value = formats_jv_get(r, "value");
        size_t len = 0;
        const char *from = jv_cstr(formats_jv_get(r, "from_name"), &len);
        const struct formats_control *k = from ? control_named(e->o.config, from, len) : NULL;
        if (!k || !value || value->type != FORMATS_JV_OBJECT)
            continue;
        struct formats_lout *o = NULL;
        for (size_t j = 0; j < it->nout && !o; j++)
            if (it->out[j].k == k)
                o = &it->out[j];
        if (!o) {
            o = &it->out[it->nout++];
            *o = (struct formats_lout){.k = k, .name = from, .nlen = len};
            o->results = base_arena_alloc(a, n * sizeof *o->results);
        }
        o->results[o->n++] = r;
    }
}

static int emit_litems(struct formats_export *e, struct formats_litem *it, struct base_err *err)
{
    const struct formats_jv *anns = formats_jv_get(it->task, "annotations");
    size_t n = anns && anns->type == FORMATS_JV_ARRAY ? anns->n : 0, kept = 0;
    if (n == 0) {
        int rc = e->w->litem(e, it, err);
        e->nitems++;
        return rc;
    }
    const struct formats_jv **live = base_arena_alloc(e->jp.arena, n * sizeof *live);
    for (size_t i = 0; i < n; i++) {
        const struct formats_jv *a = &anns->kids[i].v;
        if (jv_true(formats_jv_get(a, "was_cancelled")) || jv_true(formats_jv_get(a, "skipped")))
            continue;
        size_t j = kept++; /* insertion sort, newest first, stable */
        for (; j > 0 && jv_newer(a, live[j - 1]); j--)
            live[j] = live[j - 1];
        live[j] = a;
    }
    int rc = 0;
    for (size_t i = 0; i < kept && !rc; i++) {
        it->annotation = live[i];
        litem_output(e, it);
        rc = e->w->litem(e, it, err);
        e->nitems++;
    }
    return rc;
}

/* Hands the items of a task (parsed into the export's arena) to the writer. */
static int emit_task(struct formats_export *e, const struct formats_jv *task, struct base_err *err)
{
    const struct formats_jv *data = formats_jv_get(task, "data"), *id;
    if (!data || data->type != FORMATS_JV_OBJECT)
        return base_err_set(err, BASE_E_INVALID, "export: task without a data object");
    struct formats_litem it = {.task = task, .data = data};
    id = formats_jv_get(task, "id");
    it.id = id && id->type == FORMATS_JV_INT ? id->i : 0;
    const char *key = formats_config_first_data_key(e->o.config);
    if (key && formats_jv_get(data, "$undefined$") && !formats_jv_get(data, key))
        it.undef_key = key;
    return emit_litems(e, &it, err);
}

static int add_litems(struct formats_export *e, const char *text, size_t len, struct base_err *err)
{
    struct formats_jv task;
    formats_jv_reset(&e->jp);
    return formats_jv_parse(&e->jp, text, len, &task, err) ? -1 : emit_task(e, &task, err);
}

/* ---- stored tasks: the values the text would have parsed to, made directly ------------------ */

static struct formats_jv jv_word(int type)
{
    static const char *const words[] = {
        [FORMATS_JV_NULL] = "null", [FORMATS_JV_FALSE] = "false", [FORMATS_JV_TRUE] = "true"};
    return (struct formats_jv){.type = type, .src = words[type], .srclen = strlen(words[type])};
}

static struct formats_jv jv_int(int64_t v, int null_unless_positive)
{
    if (null_unless_positive && v <= 0)
        return jv_word(FORMATS_JV_NULL);
    return (struct formats_jv){.type = FORMATS_JV_INT, .i = v, .d = (double)v};
}

/* An ISO time string as the export shape writes it (0: null). */
static struct formats_jv jv_time(struct formats_export *e, int64_t us)
{
    if (!us)
        return jv_word(FORMATS_JV_NULL);
    char *s = base_arena_alloc(e->jp.arena, 32);
    base_time_iso(us, s);
    return (struct formats_jv){.type = FORMATS_JV_STRING, .s = s, .n = strlen(s)};
}

static void jv_member(struct formats_jv *o, const char *key, struct formats_jv v)
{
    o->kids[o->n++] = (struct formats_jm){.key = key, .klen = strlen(key), .v = v};
}

/* An annotation object with the fields of the export shape the item formats read. */
static int stored_annotation(struct formats_export *e, const struct formats_stored_annotation *a,
                             struct formats_jv *o, struct base_err *err)
{
    struct formats_jv result = jv_word(FORMATS_JV_NULL);
    if (a->result && formats_jv_parse(&e->jp, a->result, a->result_len, &result, err))
        return -1;
    *o = (struct formats_jv){.type = FORMATS_JV_OBJECT};
    o->kids = base_arena_alloc(e->jp.arena, 7 * sizeof *o->kids);
    jv_member(o, "id", jv_int(a->id, 0));
    jv_member(o, "completed_by", jv_int(a->completed_by, 1));
    jv_member(o, "result", result);
    jv_member(o, "was_cancelled", jv_word(a->was_cancelled ? FORMATS_JV_TRUE : FORMATS_JV_FALSE));
    jv_member(o, "created_at", jv_time(e, a->created_at_us));
    jv_member(o, "updated_at", jv_time(e, a->updated_at_us));
    if (!a->has_lead_time)
        jv_member(o, "lead_time", jv_word(FORMATS_JV_NULL));
    else if (isfinite(a->lead_time)) /* json_real refuses the others: no key at all */
        jv_member(o, "lead_time", (struct formats_jv){.type = FORMATS_JV_REAL, .d = a->lead_time});
    return 0;
}

int formats_export_add_stored(struct formats_export *e, const struct formats_stored_task *t,
                              struct base_err *err)
{
    if (!e->w->litem)
        return base_err_set(err, BASE_E_UNSUPPORTED, "export: this format takes tasks as text");
    struct formats_jv task = {.type = FORMATS_JV_OBJECT}, data;
    struct formats_jv anns = {.type = FORMATS_JV_ARRAY, .n = t->nannotations};
    formats_jv_reset(&e->jp);
    if (formats_jv_parse(&e->jp, t->data, t->data_len, &data, err))
        return -1;
    anns.kids = base_arena_alloc(e->jp.arena, (t->nannotations + 1) * sizeof *anns.kids);
    for (size_t i = 0; i < t->nannotations; i++) {
        anns.kids[i].key = NULL, anns.kids[i].klen = 0;
        if (stored_annotation(e, &t->annotations[i], &anns.kids[i].v, err))
            return -1;
    }
    task.kids = base_arena_alloc(e->jp.arena, 3 * sizeof *task.kids);
    jv_member(&task, "id", jv_int(t->id, 0));
    jv_member(&task, "annotations", anns);
    jv_member(&task, "data", data);
    return emit_task(e, &task, err);
}

int formats_export_wants_text(enum formats_kind kind)
{
    return (unsigned)kind < FORMATS_NKINDS && !writers[kind]->litem;
}

/* JSON takes the task as text: dumped here (compact), re-emitted by the writer. */
static int task_as_text(struct formats_export *e, const json_t *task, struct base_err *err)
{
    size_t len;
    char *text = base_json_dumps(task, BASE_JSON_COMPACT, &len);
    int rc = e->w->task(e, text, len, err);
    base_free(text);
    return rc;
}

int formats_export_add(struct formats_export *e, const json_t *task, struct base_err *err)
{
    if (!json_is_object(task) || !json_is_object(json_object_get(task, "data")))
        return base_err_set(err, BASE_E_INVALID, "export: task without a data object");
    if (e->w->litem) { /* one path: the task as text, read by the light parse */
        size_t len;
        char *text = base_json_dumps(task, BASE_JSON_COMPACT, &len);
        int rc = add_litems(e, text, len, err);
        base_free(text);
        return rc;
    }
    json_t *data = task_data(e, task);
    int rc;
    if (data == json_object_get(task, "data")) {
        rc = task_as_text(e, task, err);
    } else { /* serialise with the renamed data key, keeping the key order */
        json_t *copy = json_copy((json_t *)task);
        json_object_set(copy, "data", data);
        rc = task_as_text(e, copy, err);
        json_decref(copy);
    }
    json_decref(data);
    return rc;
}

int formats_export_add_text(struct formats_export *e, const char *text, size_t len,
                            struct base_err *err)
{
    /* JSON streams the text unless a "$undefined$" data key (possibly escaped) may need renaming;
     * the item formats pick fields out of the parsed task */
    if (e->w->task && !memchr(text, '\\', len) && !memmem(text, len, "undefined", 9))
        return e->w->task(e, text, len, err);
    if (e->w->litem)
        return add_litems(e, text, len, err);
    json_t *task = base_json_parse(text, len, err);
    if (!task)
        return -1;
    int rc = formats_export_add(e, task, err);
    json_decref(task);
    return rc;
}

/* ---- commit and abort ---------------------------------------------------------------------------
 */

static void release(struct formats_export *e)
{
    if (e->scratch)
        fclose(e->scratch);
    free(e->scratch_buf); /* allocated by open_memstream */
    if (e->w && e->w->release)
        e->w->release(e);
    formats_json_reemit_release(&e->reemit);
    formats_jv_parser_release(&e->jp);
    base_buf_release(&e->out);
    json_decref(e->categories);
    json_decref(e->cat_ids);
    base_free(e->dest);
    base_free(e);
}

int formats_export_commit(struct formats_export *e, struct base_err *err)
{
    int rc = e->w->commit ? e->w->commit(e, err) : 0;
    if (rc) {
        formats_export_abort(e);
        return -1;
    }
    if (e->af) {
        rc = base_afile_commit(e->af, err);
        e->af = NULL;
    } else if (e->zip) {
        rc = formats_zip_commit(e->zip, err);
        e->zip = NULL;
    }
    release(e);
    return rc;
}

void formats_export_abort(struct formats_export *e)
{
    if (!e)
        return;
    base_afile_abort(e->af);
    formats_zip_abort(e->zip);
    release(e);
}

/* ---- helpers shared by the writers ---------------------------------------------------------- */

const char *formats_jv_cstr(struct formats_export *e, const struct formats_jv *v)
{
    size_t len;
    const char *s = jv_cstr(v, &len);
    return s ? base_arena_strndup(e->jp.arena, s, len) : NULL;
}

const char *formats_litem_image(struct formats_export *e, const struct formats_litem *it)
{
    const char *key = formats_config_first_data_key(e->o.config);
    struct formats_control_info info;
    for (size_t i = 0; formats_config_control(e->o.config, i, &info) == 0; i++)
        if (info.data_key) {
            key = info.data_key;
            break;
        }
    if (!key)
        return NULL;
    const struct formats_jv *v = formats_jv_get(it->data, key);
    if (!v && it->undef_key && !strcmp(key, it->undef_key))
        v = formats_jv_get(it->data, "$undefined$");
    return formats_jv_cstr(e, v);
}

size_t formats_litem_regions(struct formats_export *e, const struct formats_litem *it,
                             const struct formats_jv ***out)
{
    size_t n = 0;
    for (size_t j = 0; j < it->nout; j++)
        n += it->out[j].n;
    *out = base_arena_alloc(e->jp.arena, (n ? n : 1) * sizeof **out);
    n = 0;
    for (size_t j = 0; j < it->nout; j++)
        for (size_t i = 0; i < it->out[j].n; i++)
            (*out)[n++] = it->out[j].results[i];
    return n;
}

const struct formats_jv *formats_region_get(const struct formats_jv *r, const char *key)
{
    const struct formats_jv *v;
    if ((!strcmp(key, "original_width") || !strcmp(key, "original_height")) &&
        (v = formats_jv_get(r, key)))
        return v;
    return formats_jv_get(formats_jv_get(r, "value"), key);
}

double formats_region_num(const struct formats_jv *r, const char *key)
{
    return formats_jv_num(formats_region_get(r, key));
}
