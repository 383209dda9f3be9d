/* What the rest of the server tells the loop, and what it decides: the training policy on each
 * annotation, training on demand, cancelling, rollback, deleting a version, a project going
 * away, tasks arriving. Each queues jobs in the store and wakes the scheduler. */
#include "loop_int.h"

#include <stdio.h>
#include <string.h>

static void settings_of(const struct store_project *p, struct loop_settings *s)
{
    s->enabled = loop_project_active(p);
    s->min_labeled = p->loop_min_labeled;
    s->retrain_every = p->loop_retrain_every;
}

static int enqueue(struct loop *l, int64_t project, enum store_job_kind kind, const char *reason,
                   int64_t version, const json_t *params, int64_t *job, struct base_err *err)
{
    int64_t id = 0;
    int replaced = 0;
    if (store_job_enqueue(l->st, project, kind, reason, version, 1, params, 1, &id, &replaced, err))
        return -1;
    BASE_INFO("loop: project %lld: %s job %lld %s (%s)", (long long)project,
              store_job_kind_name(kind), (long long)id, replaced ? "re-queued" : "queued", reason);
    if (job)
        *job = id;
    loop_wake(l);
    return 0;
}

void loop_annotations_changed(struct loop *l, int64_t project)
{
    struct store_project row = {0};
    struct store_loop_state st;
    struct loop_settings s;
    struct base_err err = {0};
    if (!l || store_project_get(l->st, project, &row, &err))
        goto out;
    settings_of(&row, &s);
    if (!s.enabled || store_loop_state(l->st, project, &st, &err))
        goto out;
    const char *reason = loop_policy(&s, &st);
    if (reason)
        enqueue(l, project, STORE_JOB_TRAIN, reason, 0, NULL, NULL, &err);
out:
    if (err.status && err.status != BASE_E_NOTFOUND)
        BASE_WARN("loop: project %lld: training policy: %s", (long long)project, err.msg);
    store_project_release(&row);
}

void loop_tasks_added(struct loop *l, int64_t project)
{
    struct store_project row = {0};
    struct store_loop_state st;
    struct base_err err = {0};
    if (l && loop_zoo_start(l, project, &err) < 0)
        BASE_WARN("loop: project %lld: zero-shot model: %s", (long long)project, err.msg);
    err.status = 0;
    if (l && !store_project_get(l->st, project, &row, &err) && loop_project_active(&row) &&
        !store_loop_state(l->st, project, &st, &err) && st.current_version)
        enqueue(l, project, STORE_JOB_PREDICT, "new tasks", 0, NULL, NULL, &err);
    if (err.status && err.status != BASE_E_NOTFOUND)
        BASE_WARN("loop: project %lld: predictions for new tasks: %s", (long long)project, err.msg);
    store_project_release(&row);
}

void loop_labels_changed(struct loop *l, int64_t project)
{
    struct base_err err = {0};
    int started = l ? loop_zoo_start(l, project, &err) : 0;
    if (started > 0)
        enqueue(l, project, STORE_JOB_PREDICT, "zero-shot pre-labels", 0, NULL, NULL, &err);
    if (err.status)
        BASE_WARN("loop: project %lld: zero-shot model: %s", (long long)project, err.msg);
}

int loop_train(struct loop *l, int64_t project, const char *reason, const json_t *params,
               int64_t *job, struct base_err *err)
{
    struct store_project row = {0};
    struct loop_target t;
    if (store_project_get(l->st, project, &row, err))
        return -1;
    int rc = loop_target_load(&row, &t, err);
    loop_target_release(&t);
    if (rc == 0 && !row.loop_enabled)
        rc = base_err_set(err, BASE_E_CONFLICT,
                          "the built-in detector is off for this project (loop_enabled)");
    store_project_release(&row);
    return rc ? -1 : enqueue(l, project, STORE_JOB_TRAIN, reason, 0, params, job, err);
}

int loop_cancel(struct loop *l, int64_t job, struct base_err *err)
{
    enum store_job_state was;
    int64_t pid;
    if (store_job_cancel(l->st, job, &was, &pid, err))
        return -1;
    if (was == STORE_JOB_RUNNING) {
        loop_stop_worker(l, job, 0, 0, 0);
        BASE_INFO("loop: job %lld: cancel requested", (long long)job);
    } else if (was != STORE_JOB_QUEUED) {
        return base_err_set(err, BASE_E_CONFLICT, "job %lld has already ended (%s)", (long long)job,
                            store_job_state_name(was));
    }
    loop_wake(l);
    return 0;
}

int loop_rollback(struct loop *l, int64_t version, struct base_err *err)
{
    struct store_version v = {0};
    if (store_version_get(l->st, version, &v, err))
        return -1;
    int rc = store_version_promote(l->st, version, err);
    if (rc == 0) {
        BASE_INFO("loop: project %lld: %s is now the current model", (long long)v.project, v.name);
        rc = enqueue(l, v.project, STORE_JOB_PREDICT, "rollback", version, NULL, NULL, err);
    }
    store_version_release(&v);
    return rc;
}

int loop_version_delete(struct loop *l, int64_t version, struct base_err *err)
{
    char *file = NULL;
    if (store_version_delete(l->st, version, &file, err))
        return -1;
    pthread_mutex_lock(&l->mu);
    int64_t job =
        l->pid && l->job_kind == STORE_JOB_PREDICT && l->job_version == version ? l->job : 0;
    pthread_mutex_unlock(&l->mu);
    if (job)
        loop_cancel(l, job, NULL);
    char *path = loop_data_path(l->data_dir, file);
    if (!loop_is_zoo(file) && remove(path))
        BASE_WARN("loop: cannot remove %s", path);
    base_free(path);
    base_free(file);
    return 0;
}

void loop_project_stop(struct loop *l, int64_t project)
{
    if (l && loop_stop_worker(l, 0, project, 1, 1))
        BASE_INFO("loop: project %lld is being deleted: its running job was stopped",
                  (long long)project);
}

void loop_project_purge(struct loop *l, int64_t project)
{
    if (!l)
        return;
    char *dir = loop_models_dir(l->data_dir, project);
    struct base_err err = {0};
    if (base_file_exists(dir) && base_remove_tree(dir, &err))
        BASE_WARN("loop: cannot remove %s: %s", dir, err.msg);
    base_free(dir);
    pthread_mutex_lock(&l->cache_mu);
    for (int i = 0; i < LOOP_CACHE; i++)
        if (l->cache[i].project == project && l->cache[i].users == 0) {
            det_predictor_free(l->cache[i].p);
            memset(&l->cache[i], 0, sizeof l->cache[i]);
        }
    pthread_mutex_unlock(&l->cache_mu);
}
