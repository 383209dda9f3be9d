/* The export pipeline shared by every format: opens the destination (file or zip), turns each
 * task into the converter's items (spec 5.2: cancelled annotations dropped, newest first, one item
 * per annotation, results grouped by control) and hands them to the format's writer. */
#include "formats_int.h"

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
    if (!e->w->zipped) {
        e->af = base_afile_open(e->dest, err);
        if (!e->af)
            return -1;
        e->f = base_afile_stream(e->af);
        return 0;
    }
    int zerr = 0;
    e->zip = zip_open(e->dest, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!e->zip) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        base_err_set(err, BASE_E_IO, "%s: %s", e->dest, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return -1;
    }
    return 0;
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
    if (open_dest(e, err) || (e->w->open && e->w->open(e, err))) {
        formats_export_abort(e);
        return -1;
    }
    *out = e;
    return 0;
}

/* ---- items ------------------------------------------------------------------------------------
 */

static int cancelled(const json_t *a)
{
    return json_is_true(json_object_get(a, "was_cancelled")) ||
           json_is_true(json_object_get(a, "skipped"));
}

/* created_at descending, stable (Python's sorted(reverse=True) keeps equal keys in order). */
static void sort_newest_first(const json_t **a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        const json_t *x = a[i];
        const char *kx = json_string_value(json_object_get(x, "created_at"));
        size_t j = i;
        while (j > 0) {
            const char *ky = json_string_value(json_object_get(a[j - 1], "created_at"));
            if (strcmp(ky ? ky : "", kx ? kx : "") >= 0)
                break;
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* {"control": [value + type + original size]} for the results of known controls. */
static json_t *item_output(const struct formats_export *e, const json_t *result)
{
    json_t *out = json_object(), *r;
    size_t i;
    json_array_foreach(result, i, r)
    {
        const char *from = json_string_value(json_object_get(r, "from_name"));
        const struct formats_control *k =
            from ? formats_config_control_find(e->o.config, from) : NULL;
        json_t *value = json_object_get(r, "value");
        if (!k || !json_is_object(value))
            continue;
        /* shallow: only top-level keys are added; nested values are shared, read only */
        json_t *v = json_copy(value), *list = json_object_get(out, from);
        json_object_set_new(v, "type", json_string(k->type));
        static const char *const sizes[] = {"original_width", "original_height"};
        for (int s = 0; s < 2; s++)
            if (json_object_get(r, sizes[s]))
                json_object_set(v, sizes[s], json_object_get(r, sizes[s]));
        if (!list) {
            list = json_array();
            json_object_set_new(out, from, list);
        }
        json_array_append_new(list, v);
    }
    return out;
}

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

static int emit_items(struct formats_export *e, const json_t *task, const json_t *data,
                      struct base_err *err)
{
    json_t *anns = json_object_get(task, "annotations");
    size_t n = json_array_size(anns), kept = 0;
    struct formats_item it = {
        .id = json_integer_value(json_object_get(task, "id")), .task = task, .data = data};
    if (n == 0) {
        it.output = json_object();
        int rc = e->w->item(e, &it, err);
        json_decref(it.output);
        e->nitems++;
        return rc;
    }
    const json_t **live = base_calloc(n, sizeof *live);
    for (size_t i = 0; i < n; i++)
        if (!cancelled(json_array_get(anns, i)))
            live[kept++] = json_array_get(anns, i);
    sort_newest_first(live, kept);
    int rc = 0;
    for (size_t i = 0; i < kept && !rc; i++) {
        it.annotation = live[i];
        it.output = item_output(e, json_object_get(live[i], "result"));
        rc = e->w->item(e, &it, err);
        json_decref(it.output);
        e->nitems++;
    }
    base_free(live);
    return rc;
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
    json_t *data = task_data(e, task);
    int rc;
    if (e->w->task && data == json_object_get(task, "data")) {
        rc = task_as_text(e, task, err);
    } else if (e->w->task) { /* serialise with the renamed data key, keeping the key order */
        json_t *copy = json_copy((json_t *)task);
        json_object_set(copy, "data", data);
        rc = task_as_text(e, copy, err);
        json_decref(copy);
    } else {
        rc = emit_items(e, task, data, err);
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
    formats_zip_spool_remove(e);
    if (e->scratch)
        fclose(e->scratch);
    free(e->scratch_buf); /* allocated by open_memstream */
    if (e->w && e->w->release)
        e->w->release(e);
    formats_json_reemit_release(&e->reemit);
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
        if (formats_zip_spool_flush(e, err)) {
            rc = -1;
            zip_discard(e->zip);
        } else if (zip_close(e->zip)) {
            rc = base_err_set(err, BASE_E_IO, "%s: %s", e->dest, zip_strerror(e->zip));
            zip_discard(e->zip);
        }
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
    if (e->zip)
        zip_discard(e->zip);
    release(e);
}

/* ---- helpers shared by the writers ---------------------------------------------------------- */

const char *formats_item_image(const struct formats_export *e, const struct formats_item *it)
{
    const char *key = formats_config_first_data_key(e->o.config);
    struct formats_control_info info;
    for (size_t i = 0; formats_config_control(e->o.config, i, &info) == 0; i++)
        if (info.data_key) {
            key = info.data_key;
            break;
        }
    return key ? json_string_value(json_object_get(it->data, key)) : NULL;
}

json_t *formats_item_regions(const struct formats_item *it)
{
    json_t *all = json_array(), *list;
    const char *k;
    json_object_foreach(it->output, k, list) json_array_extend(all, list);
    return all;
}
