/* Label Studio's data-manager `query` parameter of GET /api/tasks: filters and an ordering
 * ({"filters": {"conjunction": "and"|"or", "items": [{"filter": "filter:tasks:<column>",
 * "operator": "greater", "type": "Number", "value": 0}]}, "ordering": ["-tasks:<column>"]}),
 * turned into a store view that answers one page of task ids in order. */
#include "api_int.h"

#include <stdlib.h>
#include <string.h>

struct col_name {
    const char *name;
    enum store_task_col col;
};

static const struct col_name COLS[] = {
    {"id", STORE_TASK_COL_ID},
    {"inner_id", STORE_TASK_COL_INNER_ID},
    {"total_annotations", STORE_TASK_COL_TOTAL_ANNOTATIONS},
    {"cancelled_annotations", STORE_TASK_COL_CANCELLED_ANNOTATIONS},
    {"total_predictions", STORE_TASK_COL_TOTAL_PREDICTIONS},
    {"predictions_score", STORE_TASK_COL_PREDICTION_SCORE},
    {"is_labeled", STORE_TASK_COL_IS_LABELED},
    {"uncertainty", STORE_TASK_COL_UNCERTAINTY},
    {"created_at", STORE_TASK_COL_CREATED_AT},
    {"updated_at", STORE_TASK_COL_UPDATED_AT},
};

struct op_name {
    const char *name;
    enum store_cmp cmp;
};

static const struct op_name OPS[] = {
    {"equal", STORE_CMP_EQ},   {"not_equal", STORE_CMP_NE},
    {"less", STORE_CMP_LT},    {"less_or_equal", STORE_CMP_LE},
    {"greater", STORE_CMP_GT}, {"greater_or_equal", STORE_CMP_GE},
    {"in", STORE_CMP_BETWEEN}, {"empty", STORE_CMP_NULL},
};

/* "filter:tasks:x" or "tasks:x" (with the given prefix) to a column; -1 if unknown. */
static int column(const char *s, const char *prefix, enum store_task_col *out)
{
    size_t n = strlen(prefix);
    if (!s || strncmp(s, prefix, n))
        return -1;
    for (size_t i = 0; i < sizeof COLS / sizeof COLS[0]; i++)
        if (!strcmp(s + n, COLS[i].name)) {
            *out = COLS[i].col;
            return 0;
        }
    return -1;
}

static int number(const json_t *v, double *out)
{
    if (json_is_number(v))
        *out = json_number_value(v);
    else if (json_is_boolean(v))
        *out = json_is_true(v);
    else
        return -1;
    return 0;
}

/* The value of one filter item by its operator. */
static int item_value(const json_t *v, struct store_task_filter *f)
{
    if (f->cmp == STORE_CMP_NULL) {
        if (!json_is_boolean(v))
            return -1;
        f->cmp = json_is_true(v) ? STORE_CMP_NULL : STORE_CMP_NOT_NULL;
        return 0;
    }
    if (f->cmp == STORE_CMP_BETWEEN)
        return number(json_object_get(v, "min"), &f->value) ||
                       number(json_object_get(v, "max"), &f->value2)
                   ? -1
                   : 0;
    return number(v, &f->value);
}

static int parse_item(struct api_req *r, const json_t *it, struct store_task_filter *f,
                      struct base_err *err)
{
    const char *name = json_string_value(json_object_get(it, "filter"));
    const char *op = json_string_value(json_object_get(it, "operator"));
    if (column(name, "filter:tasks:", &f->col) || f->col >= STORE_TASK_COL_CREATED_AT)
        return api_invalid(r, err, "query", "cannot filter on %s", name ? name : "(no filter)");
    size_t i = 0;
    while (i < sizeof OPS / sizeof OPS[0] && (!op || strcmp(op, OPS[i].name)))
        i++;
    if (i == sizeof OPS / sizeof OPS[0])
        return api_invalid(r, err, "query", "unsupported filter operator %s", op ? op : "(none)");
    f->cmp = OPS[i].cmp;
    if (item_value(json_object_get(it, "value"), f))
        return api_invalid(r, err, "query", "bad value for %s %s", name, op);
    return 0;
}

static int parse_filters(struct api_req *r, const json_t *q, struct store_task_view *v,
                         struct base_err *err)
{
    const json_t *filters = json_object_get(q, "filters");
    if (!filters || json_is_null(filters))
        return 0;
    const char *conj = json_string_value(json_object_get(filters, "conjunction"));
    const json_t *items = json_object_get(filters, "items");
    if ((conj && strcmp(conj, "and") && strcmp(conj, "or")) || (items && !json_is_array(items)))
        return api_invalid(r, err, "query", "filters need a conjunction and an items list");
    v->match_any = conj && !strcmp(conj, "or");
    if (json_array_size(items) > STORE_TASK_FILTERS_MAX)
        return api_invalid(r, err, "query", "at most %d filters", STORE_TASK_FILTERS_MAX);
    for (size_t i = 0; i < json_array_size(items); i++)
        if (parse_item(r, json_array_get(items, i), &v->filters[v->nfilters++], err))
            return -1;
    return 0;
}

static int parse_ordering(struct api_req *r, const json_t *q, struct store_task_view *v,
                          struct base_err *err)
{
    const json_t *ord = json_object_get(q, "ordering");
    if (!ord || json_is_null(ord) || json_array_size(ord) == 0)
        return 0;
    const char *o = json_string_value(json_array_get(ord, 0));
    v->descending = o && o[0] == '-';
    if (!json_is_array(ord) || column(o ? o + v->descending : NULL, "tasks:", &v->order))
        return api_invalid(r, err, "query", "cannot order by %s", o ? o : "that");
    return 0;
}

int api_task_view(struct api_req *r, int64_t project, int64_t offset, int64_t limit,
                  struct api_task_page *out, struct base_err *err)
{
    const char *text = http_request_query(r->http, "query");
    if (!text || !*text)
        return 1;
    json_error_t jerr;
    json_t *q = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    struct store_task_view *v = base_arena_alloc(r->arena, sizeof *v);
    memset(v, 0, sizeof *v);
    *v = (struct store_task_view){.project = project, .offset = offset, .limit = limit};
    int rc = json_is_object(q) ? 0
                               : api_invalid(r, err, "query", "not a JSON object: %s",
                                             q ? "wrong type" : jerr.text);
    if (rc == 0)
        rc = parse_filters(r, q, v, err) || parse_ordering(r, q, v, err) ? -1 : 0;
    json_decref(q);
    if (rc)
        return -1;
    if (v->nfilters == 0 && v->order == STORE_TASK_COL_ID && !v->descending)
        return 1; /* the plain list: the store's own id-order pagination does it */
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
