/* The Label Studio projects the ML backend serves, keyed by Label Studio's project uid
 * "<id>.<created unix seconds>" (spec 0.3). Each one mirrors into a labelloop project of the
 * backend's own store (titled by the uid) so that the loop trains it like any other; the host and
 * token /setup sent stay in memory only (Label Studio sends them again before every prediction). */
#include "mlb_int.h"

#include "formats/formats.h"

#include <stdlib.h>
#include <string.h>

static struct mlb_proj *find(struct mlb_server *s, const char *uid)
{
    for (int i = 0; i < s->nprojects; i++)
        if (!strcmp(s->projects[i].uid, uid))
            return &s->projects[i];
    return NULL;
}

static struct mlb_proj *add(struct mlb_server *s, const char *uid, int64_t id)
{
    if (s->nprojects == MLB_MAX_PROJECTS)
        return NULL;
    struct mlb_proj *p = &s->projects[s->nprojects++];
    memset(p, 0, sizeof *p);
    snprintf(p->uid, sizeof p->uid, "%s", uid);
    p->id = id;
    p->ls_id = mlb_uid_project(uid);
    return p;
}

int64_t mlb_uid_project(const char *uid)
{
    int64_t id = 0;
    char head[MLB_UID_MAX + 1];
    snprintf(head, sizeof head, "%s", uid);
    head[strcspn(head, ".")] = '\0';
    return base_parse_i64(head, &id) == 0 ? id : 0;
}

int mlb_projects_load(struct mlb_server *s, struct base_err *err)
{
    json_t *rows = NULL;
    int64_t total = 0;
    if (store_project_list(s->st, 0, MLB_MAX_PROJECTS, &rows, &total, err))
        return -1;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *uid = json_string_value(json_object_get(row, "title"));
        if (uid && strlen(uid) <= MLB_UID_MAX)
            add(s, uid, json_integer_value(json_object_get(row, "id")));
    }
    json_decref(rows);
    return 0;
}

void mlb_projects_release(struct mlb_server *s)
{
    for (int i = 0; i < s->nprojects; i++) {
        base_free(s->projects[i].host);
        base_free(s->projects[i].token);
        base_free(s->projects[i].problem);
        base_free(s->projects[i].train_error);
    }
    s->nprojects = 0;
}

/* The project columns of a labeling config, checked: the detector must have boxes to learn. */
static json_t *config_fields(struct mlb_server *s, const char *uid, const char *schema,
                             struct base_err *err)
{
    struct formats_config *cfg = NULL;
    if (formats_config_parse(schema, strlen(schema), &cfg, err))
        return base_err_prefix(err, "the labeling config: "), NULL;
    json_t *f = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:I, s:I}", "title", uid, "label_config",
                          schema, "parsed_label_config", formats_config_parsed(cfg), "data_types",
                          formats_config_data_types(cfg), "control_weights",
                          formats_config_control_weights(cfg), "loop_enabled", 1,
                          "loop_min_labeled", (json_int_t)s->cfg.min_labeled, "loop_retrain_every",
                          (json_int_t)s->cfg.retrain_every);
    formats_config_free(cfg);
    struct store_project p = {.label_config = (char *)schema,
                              .parsed_label_config = json_object_get(f, "parsed_label_config"),
                              .loop_enabled = 1};
    if (loop_project_check(&p, err) < 0 || !loop_project_active(&p)) {
        base_err_prefix(err, "labelloop's detector cannot serve this labeling config: ");
        json_decref(f);
        return NULL;
    }
    return f;
}

static int same_schema(struct mlb_server *s, int64_t id, const char *schema)
{
    struct store_project p = {0};
    int same = 0;
    if (!store_project_get(s->st, id, &p, NULL))
        same = !strcmp(p.label_config, schema);
    store_project_release(&p);
    return same;
}

int mlb_project_get(struct mlb_server *s, const char *uid, const char *schema, int64_t *id,
                    struct base_err *err)
{
    if (!uid || !uid[0] || strlen(uid) > MLB_UID_MAX)
        return base_err_set(err, BASE_E_INVALID,
                            "'project' must be Label Studio's project uid"
                            " (\"<id>.<created unix seconds>\")");
    pthread_mutex_lock(&s->mu);
    struct mlb_proj *p = find(s, uid);
    int rc = 0;
    *id = p ? p->id : 0;
    pthread_mutex_unlock(&s->mu);
    if (!schema || !schema[0])
        return *id ? 0
                   : base_err_set(err, BASE_E_NOTFOUND,
                                  "unknown project %s: Label Studio must call /setup first (or"
                                  " send label_config)",
                                  uid);
    if (*id && same_schema(s, *id, schema))
        return 0;
    json_t *fields = config_fields(s, uid, schema, err);
    if (!fields)
        return -1;
    pthread_mutex_lock(&s->mu); /* one creator at a time: a uid never gets two projects */
    p = find(s, uid);
    if (p) {
        json_object_del(fields, "loop_min_labeled");
        json_object_del(fields, "loop_retrain_every");
        rc = store_project_update(s->st, p->id, fields, err);
        *id = p->id;
    } else if ((rc = store_project_create(s->st, fields, 0, id, err)) == 0 && !add(s, uid, *id)) {
        rc = base_err_set(err, BASE_E_TOOBIG, "more than %d projects", MLB_MAX_PROJECTS);
    }
    pthread_mutex_unlock(&s->mu);
    json_decref(fields);
    if (rc == 0)
        BASE_INFO("ml-backend: project %s is labelloop project %lld", uid, (long long)*id);
    return rc;
}

static void replace(char **slot, const char *v)
{
    base_free(*slot);
    *slot = v && v[0] ? base_strdup(v) : NULL;
}

void mlb_project_set_source(struct mlb_server *s, const char *uid, const char *host,
                            const char *token)
{
    pthread_mutex_lock(&s->mu);
    struct mlb_proj *p = find(s, uid);
    if (p && host)
        replace(&p->host, host);
    if (p && token)
        replace(&p->token, token);
    pthread_mutex_unlock(&s->mu);
}

void mlb_project_source(struct mlb_server *s, const char *uid, char *host, size_t hsize,
                        char *token, size_t tsize)
{
    pthread_mutex_lock(&s->mu);
    struct mlb_proj *p = uid ? find(s, uid) : NULL;
    const char *h = p && p->host ? p->host : s->cfg.ls_url;
    const char *t = p && p->token ? p->token : s->cfg.ls_token;
    snprintf(host, hsize, "%s", h ? h : "");
    snprintf(token, tsize, "%s", t ? t : "");
    pthread_mutex_unlock(&s->mu);
}

void mlb_project_note(struct mlb_server *s, const char *uid, int train, const char *text)
{
    pthread_mutex_lock(&s->mu);
    struct mlb_proj *p = find(s, uid);
    if (p)
        replace(train ? &p->train_error : &p->problem, text);
    pthread_mutex_unlock(&s->mu);
}

void mlb_project_uid(struct mlb_server *s, int64_t id, char *out, size_t size)
{
    pthread_mutex_lock(&s->mu);
    out[0] = '\0';
    for (int i = 0; i < s->nprojects; i++)
        if (s->projects[i].id == id)
            snprintf(out, size, "%s", s->projects[i].uid);
    pthread_mutex_unlock(&s->mu);
}

void mlb_projects_problems(struct mlb_server *s, json_t *arr)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nprojects; i++) {
        const struct mlb_proj *p = &s->projects[i];
        if (p->problem)
            json_array_append_new(arr, json_sprintf("project %s: %s", p->uid, p->problem));
        if (p->train_error)
            json_array_append_new(arr,
                                  json_sprintf("project %s: training: %s", p->uid, p->train_error));
    }
    pthread_mutex_unlock(&s->mu);
}
