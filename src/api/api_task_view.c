/* Label Studio's data-manager parameters: filters, ordering and selected items ({"filters":
 * {"conjunction": "and"|"or", "items": [{"filter": "filter:tasks:<column>", "operator": "greater",
 * "type": "Number", "value": 0}]}, "ordering": ["-tasks:<column>"], "selectedItems": {"all": true,
 * "excluded": [ids]}}), as the `query` parameter of GET /api/tasks, the body of /api/dm/actions and
 * the data of a saved view, turned into a store view (spec 2.5; the columns and operators of the
 * SDK's data_manager helpers). */
#include "api_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum col_type { T_NUM, T_COUNT, T_BOOL, T_TIME, T_TEXT, T_LIST, T_DATA };

struct col_name {
    const char *name;
    enum store_task_col col;
    enum col_type type;
};

static const struct col_name COLS[] = {
    {"id", STORE_TASK_COL_ID, T_NUM},
    {"inner_id", STORE_TASK_COL_INNER_ID, T_NUM},
    {"total_annotations", STORE_TASK_COL_TOTAL_ANNOTATIONS, T_COUNT},
    {"cancelled_annotations", STORE_TASK_COL_CANCELLED_ANNOTATIONS, T_COUNT},
    {"total_predictions", STORE_TASK_COL_TOTAL_PREDICTIONS, T_COUNT},
    {"predictions_score", STORE_TASK_COL_PREDICTION_SCORE, T_NUM},
    {"is_labeled", STORE_TASK_COL_IS_LABELED, T_BOOL},
    {"uncertainty", STORE_TASK_COL_UNCERTAINTY, T_NUM},
    {"avg_lead_time", STORE_TASK_COL_AVG_LEAD_TIME, T_NUM},
    {"ground_truth", STORE_TASK_COL_GROUND_TRUTH, T_BOOL},
    {"created_at", STORE_TASK_COL_CREATED_AT, T_TIME},
    {"updated_at", STORE_TASK_COL_UPDATED_AT, T_TIME},
    {"completed_at", STORE_TASK_COL_COMPLETED_AT, T_TIME},
    {"file_upload", STORE_TASK_COL_FILE_UPLOAD, T_TEXT},
    {"storage_filename", STORE_TASK_COL_FILE_UPLOAD, T_TEXT},
    {"annotations_results", STORE_TASK_COL_ANNOTATIONS_RESULTS, T_TEXT},
    {"predictions_results", STORE_TASK_COL_PREDICTIONS_RESULTS, T_TEXT},
    {"annotations_ids", STORE_TASK_COL_ANNOTATIONS_IDS, T_TEXT},
    {"annotators", STORE_TASK_COL_ANNOTATORS, T_LIST},
    {"predictions_model_versions", STORE_TASK_COL_MODEL_VERSIONS, T_LIST},
    {"updated_by", STORE_TASK_COL_UPDATED_BY, T_LIST},
};

/* Columns only Label Studio Enterprise has: named in the error rather than "unknown". */
static const char *const ENTERPRISE[] = {
    "reviewed",  "reviewers", "reviews_rejected",         "reviews_accepted",
    "agreement", "comments",  "unresolved_comment_count", "comment_authors"};

struct op_name {
    const char *name;
    enum store_cmp cmp;
};

static const struct op_name OPS[] = {
    {"equal", STORE_CMP_EQ},
    {"not_equal", STORE_CMP_NE},
    {"less", STORE_CMP_LT},
    {"less_or_equal", STORE_CMP_LE},
    {"greater", STORE_CMP_GT},
    {"greater_or_equal", STORE_CMP_GE},
    {"in", STORE_CMP_BETWEEN},
    {"not_in", STORE_CMP_NOT_BETWEEN},
    {"in_list", STORE_CMP_IN_LIST},
    {"not_in_list", STORE_CMP_NOT_IN_LIST},
    {"empty", STORE_CMP_NULL},
    {"contains", STORE_CMP_CONTAINS},
    {"not_contains", STORE_CMP_NOT_CONTAINS},
    {"regex", STORE_CMP_REGEX},
};

/* A parsed item: the filter plus what its column is. */
struct item {
    struct store_task_filter *f;
    enum col_type type;
    const char *name; /* for messages */
};

/* "filter:tasks:x", "tasks:x" or "x" (Label Studio strips both prefixes; the SDK's Column
 * helper writes "filter: tasks:cancelled_annotations" with a space) to a column. */
static const char *strip(const char *s)
{
    if (!strncmp(s, "filter:", 7))
        s += 7 + strspn(s + 7, " ");
    if (!strncmp(s, "tasks:", 6))
        s += 6;
    return s;
}

static int column(struct api_req *r, const char *s, enum store_task_col *col, enum col_type *type,
                  const char **key, struct base_err *err)
{
    const char *name = s ? strip(s) : "";
    if (!strncmp(name, "data.", 5) && name[5]) {
        *col = STORE_TASK_COL_DATA;
        *type = T_DATA;
        *key = name + 5;
        if (strpbrk(*key, "\"\\") || strlen(*key) > 255)
            return api_invalid(r, err, "query", "unsupported data key in %s", s);
        return 0;
    }
    for (size_t i = 0; i < sizeof COLS / sizeof COLS[0]; i++)
        if (!strcmp(name, COLS[i].name)) {
            *col = COLS[i].col;
            *type = COLS[i].type;
            return 0;
        }
    for (size_t i = 0; i < sizeof ENTERPRISE / sizeof ENTERPRISE[0]; i++)
        if (!strcmp(name, ENTERPRISE[i]))
            return api_invalid(r, err, "query", "%s is a Label Studio Enterprise column", s);
    return api_invalid(r, err, "query", "unknown column %s", s ? s : "(none)");
}

/* Label Studio's cast_bool_from_str: true/false, 1/0, "true"/"false" (any case), "1"/"0". */
static int boolean(const json_t *v, int *out)
{
    const char *s = json_string_value(v);
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        *out = (int)json_integer_value(v);
    else if (s && (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes")))
        *out = 1;
    else if (s && (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no")))
        *out = 0;
    else
        return -1;
    return 0;
}

/* A number as Label Studio's float(value) takes it: numbers, booleans, numeric strings. */
static int number(const json_t *v, double *out)
{
    const char *s = json_string_value(v);
    char *end;
    if (json_is_number(v))
        *out = json_number_value(v);
    else if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (s && *s && (*out = strtod(s, &end), *end == '\0'))
        return 0;
    else
        return -1;
    return 0;
}

static int time_value(const json_t *v, double *out)
{
    int64_t us;
    const char *s = json_string_value(v);
    if (!s || base_time_parse(s, &us))
        return -1;
    *out = (double)us;
    return 0;
}

/* A text value: strings as they are, numbers and booleans as JSON writes them. */
static const char *text(struct api_req *r, const json_t *v)
{
    if (json_is_string(v))
        return base_arena_strdup(r->arena, json_string_value(v));
    if (!json_is_number(v) && !json_is_boolean(v))
        return NULL;
    char *s = base_json_dumps(v, BASE_JSON_COMPACT, NULL);
    const char *out = base_arena_strdup(r->arena, s);
    base_free(s);
    return out;
}

/* A JSON array (of the value, or the value itself when it is one) as text for the store. */
static const char *list_text(struct api_req *r, const json_t *v)
{
    size_t i;
    const json_t *x;
    json_t *list = json_is_array(v) ? json_incref((json_t *)v) : json_pack("[O]", v);
    json_array_foreach(list, i, x) if (!json_is_string(x) && !json_is_number(x))
    {
        json_decref(list);
        return NULL;
    }
    char *s = base_json_dumps(list, BASE_JSON_COMPACT, NULL);
    json_decref(list);
    const char *out = base_arena_strdup(r->arena, s);
    base_free(s);
    return out;
}

/* The two ends of "in" / "not_in": {"min": a, "max": b}. */
static int range(const struct item *it, const json_t *v)
{
    const json_t *lo = json_object_get(v, "min"), *hi = json_object_get(v, "max");
    if (it->type == T_TIME)
        return time_value(lo, &it->f->value) || time_value(hi, &it->f->value2) ? -1 : 0;
    return number(lo, &it->f->value) || number(hi, &it->f->value2) ? -1 : 0;
}

/* The value of an "empty" filter; the counters are 0 when "empty", as in Label Studio. */
static int empty_value(struct item *it, const json_t *v)
{
    int yes;
    if (boolean(v, &yes))
        return -1;
    if (it->type == T_COUNT) {
        it->f->cmp = yes ? STORE_CMP_EQ : STORE_CMP_NE;
        it->f->kind = STORE_VALUE_NUMBER;
        it->f->value = 0;
        return 0;
    }
    it->f->cmp = yes ? STORE_CMP_NULL : STORE_CMP_NOT_NULL;
    return 0;
}

/* How a data field compares: by the item's "type" (Number and Boolean as numbers). */
static enum store_value data_kind(const char *type)
{
    return type && (!strcmp(type, "Number") || !strcmp(type, "Boolean")) ? STORE_VALUE_NUMBER
                                                                         : STORE_VALUE_TEXT;
}

static int item_value(struct api_req *r, struct item *it, const char *type, const json_t *v)
{
    struct store_task_filter *f = it->f;
    if (f->cmp == STORE_CMP_NULL)
        return empty_value(it, v);
    int textual = it->type == T_TEXT || it->type == T_LIST ||
                  (it->type == T_DATA && data_kind(type) == STORE_VALUE_TEXT);
    f->kind = it->type == T_TIME ? STORE_VALUE_TIME
              : textual          ? STORE_VALUE_TEXT
                                 : STORE_VALUE_NUMBER;
    if (f->cmp == STORE_CMP_IN_LIST || f->cmp == STORE_CMP_NOT_IN_LIST || it->type == T_LIST)
        return (f->text = list_text(r, v)) ? 0 : -1;
    if (f->cmp == STORE_CMP_BETWEEN || f->cmp == STORE_CMP_NOT_BETWEEN)
        return range(it, v);
    if (textual)
        return (f->text = text(r, v)) ? 0 : -1;
    if (it->type == T_TIME)
        return time_value(v, &f->value);
    int b;
    if (it->type == T_BOOL && !boolean(v, &b)) {
        f->value = b;
        return 0;
    }
    return number(v, &f->value);
}

static int parse_item(struct api_req *r, const json_t *j, struct store_task_filter *f,
                      struct base_err *err)
{
    const char *name = json_string_value(json_object_get(j, "filter"));
    const char *op = json_string_value(json_object_get(j, "operator"));
    const char *type = json_string_value(json_object_get(j, "type"));
    struct item it = {f, T_NUM, name};
    memset(f, 0, sizeof *f);
    if (!json_is_object(j))
        return api_invalid(r, err, "query", "each filter item must be an object");
    if (column(r, name, &f->col, &it.type, &f->key, err))
        return -1;
    if (f->key)
        f->key = base_arena_strdup(r->arena, f->key);
    size_t i = 0;
    while (i < sizeof OPS / sizeof OPS[0] && (!op || strcmp(op, OPS[i].name)))
        i++;
    if (i == sizeof OPS / sizeof OPS[0])
        return api_invalid(r, err, "query", "unsupported filter operator %s", op ? op : "(none)");
    f->cmp = OPS[i].cmp;
    if (item_value(r, &it, type, json_object_get(j, "value")))
        return api_invalid(r, err, "query", "bad value for %s %s", name, op);
    struct base_err e = {0};
    if (f->cmp == STORE_CMP_REGEX && store_regex_check(f->text, &e))
        return api_invalid(r, err, "query", "%s regex: %s", name, e.msg);
    return 0;
}

static int parse_filters(struct api_req *r, const json_t *q, struct store_task_view *v,
                         struct base_err *err)
{
    const json_t *filters = json_object_get(q, "filters");
    if (!filters || json_is_null(filters))
        return 0;
    const char *conj = json_string_value(json_object_get(filters, "conjunction"));
    const json_t *items = json_object_get(filters, "items"), *it;
    if ((conj && strcmp(conj, "and") && strcmp(conj, "or")) || (items && !json_is_array(items)))
        return api_invalid(r, err, "query", "filters need a conjunction and an items list");
    v->match_any = conj && !strcmp(conj, "or");
    if (json_array_size(items) > STORE_TASK_FILTERS_MAX)
        return api_invalid(r, err, "query", "at most %d filters", STORE_TASK_FILTERS_MAX);
    size_t i;
    json_array_foreach(items, i, it)
    {
        /* Label Studio skips an item without a value (a filter the user has not filled in) */
        const json_t *value = json_object_get(it, "value");
        if (json_is_object(it) && (!value || json_is_null(value)))
            continue;
        if (parse_item(r, it, &v->filters[v->nfilters++], err))
            return -1;
    }
    return 0;
}

static int parse_ordering(struct api_req *r, const json_t *q, struct store_task_view *v,
                          struct base_err *err)
{
    const json_t *ord = json_object_get(q, "ordering");
    if (!ord || json_is_null(ord) || (json_is_array(ord) && json_array_size(ord) == 0))
        return 0;
    const char *o = json_string_value(json_is_array(ord) ? json_array_get(ord, 0) : ord);
    if (!o)
        return api_invalid(r, err, "query", "ordering must be a list of column names");
    const char *name = strip(o);
    v->descending = name[0] == '-';
    enum col_type type;
    const char *key = NULL;
    if (column(r, name + v->descending, &v->order, &type, &key, err))
        return -1;
    if (type == T_LIST)
        return api_invalid(r, err, "query", "cannot order by %s", o);
    v->order_key = key ? base_arena_strdup(r->arena, key) : NULL;
    return 0;
}

/* Task ids of a selectedItems list, in the request arena. */
static int ids_of(struct api_req *r, const json_t *list, struct store_task_view *v)
{
    size_t i;
    const json_t *x;
    if (list && !json_is_array(list))
        return -1;
    int64_t *ids = base_arena_alloc(r->arena, (json_array_size(list) + 1) * sizeof *ids);
    json_array_foreach(list, i, x)
    {
        if (!json_is_integer(x))
            return -1;
        ids[i] = json_integer_value(x);
    }
    v->selected = ids;
    v->nselected = json_array_size(list);
    return 0;
}

static int parse_selected(struct api_req *r, const json_t *q, struct store_task_view *v,
                          struct base_err *err)
{
    const json_t *sel = json_object_get(q, "selectedItems");
    if (!sel || json_is_null(sel))
        return 0;
    const json_t *all = json_object_get(sel, "all");
    if (!json_is_object(sel) || !json_is_boolean(all))
        return api_invalid(r, err, "selectedItems",
                           "selectedItems must be dict: {\"all\": [true|false], \"excluded | "
                           "included\": [...task_ids...]}");
    v->select = json_is_true(all) ? STORE_SELECT_EXCLUDED : STORE_SELECT_INCLUDED;
    if (ids_of(r, json_object_get(sel, json_is_true(all) ? "excluded" : "included"), v))
        return api_invalid(r, err, "selectedItems", "included and excluded are lists of task ids");
    if (v->select == STORE_SELECT_EXCLUDED && v->nselected == 0)
        v->select = STORE_SELECT_ALL;
    return 0;
}

int api_dm_query(struct api_req *r, const struct store_project *row, const json_t *q,
                 struct store_task_view *v, struct base_err *err)
{
    memset(v, 0, sizeof *v);
    v->project = row->id;
    const char *ukey = store_project_data_key(row);
    /* (a config key the store cannot name in a JSON path is simply not looked up raw) */
    v->undefined_key = ukey && !strpbrk(ukey, "\"\\") && strlen(ukey) <= 255
                           ? base_arena_strdup(r->arena, ukey)
                           : NULL;
    if (q && !json_is_object(q))
        return api_invalid(r, err, "query", "not a JSON object");
    if (!q)
        return 0;
    if (parse_filters(r, q, v, err) || parse_ordering(r, q, v, err) || parse_selected(r, q, v, err))
        return -1;
    struct base_err e = {0};
    if (store_task_view_check(v, &e))
        return api_invalid(r, err, "query", "%s", e.msg);
    return 0;
}

int api_dm_view_query(struct api_req *r, const struct store_project *row, int64_t view,
                      struct store_task_view *v, struct base_err *err)
{
    struct store_view sv = {0};
    if (store_view_get(r->api->store, view, &sv, err))
        return -1;
    int rc = 0;
    if (sv.project != row->id)
        rc = api_invalid(r, err, "view", "Project and View mismatch");
    else
        rc = api_dm_query(r, row, sv.data, v, err);
    store_view_release(&sv);
    return rc;
}

/* The `query` parameter (or the view named by `view`) of GET /api/tasks. */
static int request_query(struct api_req *r, const struct store_project *row,
                         struct store_task_view *v, struct base_err *err)
{
    int64_t view;
    if (api_query_int(r, "view", 0, 0, INT64_MAX, &view, err))
        return -1;
    if (view)
        return api_dm_view_query(r, row, view, v, err);
    const char *text = http_request_query(r->http, "query");
    if (!text || !*text)
        return api_dm_query(r, row, NULL, v, err);
    json_error_t jerr;
    json_t *q = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    int rc = q ? api_dm_query(r, row, q, v, err)
               : api_invalid(r, err, "query", "not a JSON object: %s", jerr.text);
    json_decref(q);
    return rc;
}

int api_task_view(struct api_req *r, const struct store_project *row, int64_t offset, int64_t limit,
                  struct api_task_page *out, struct base_err *err)
{
    struct store_task_view *v = base_arena_alloc(r->arena, sizeof *v);
    if (request_query(r, row, v, err))
        return -1;
    if (v->nfilters == 0 && v->order == STORE_TASK_COL_ID && !v->descending &&
        v->select == STORE_SELECT_ALL)
        return 1; /* the plain list: the store's own id-order pagination does it */
    v->offset = offset;
    v->limit = limit;
    out->ids = base_arena_alloc(r->arena, (size_t)limit * sizeof *out->ids);
    return store_task_view_page(r->api->store, v, out->ids, &out->n, &out->totals, err);
}

/* ---- putting the tasks (fetched in id order) back in the page's order ----------------------- */

struct api_task_slot {
    int64_t id;
    size_t pos;
};

static int by_id(const void *a, const void *b)
{
    const struct api_task_slot *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

void api_task_page_index(struct api_req *r, struct api_task_page *p)
{
    p->slots = base_arena_alloc(r->arena, (p->n ? p->n : 1) * sizeof *p->slots);
    for (size_t i = 0; i < p->n; i++)
        p->slots[i] = (struct api_task_slot){p->ids[i], i};
    qsort(p->slots, p->n, sizeof *p->slots, by_id);
}

size_t api_task_page_slot(const struct api_task_page *p, int64_t id)
{
    struct api_task_slot key = {id, 0};
    const struct api_task_slot *s = bsearch(&key, p->slots, p->n, sizeof *p->slots, by_id);
    BASE_ASSERT(s);
    return s->pos;
}
