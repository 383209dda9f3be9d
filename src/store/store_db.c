/* The numbered migrations and the helpers every store file shares, built on the statement
 * layer (store_int.h; the back end is store_sqlite.c). */
#include "store_int.h"

#include <string.h>

/* ---- migrations ------------------------------------------------------------------------------ */

/* Never edit a migration that has shipped: append a new one. Each runs in its own transaction
 * and is recorded in schema_migrations. */
static const char *const migrations[] = {
    /* 1: users, tokens, sessions, projects, uploads, tasks, annotations, predictions */
    "CREATE TABLE user ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " username TEXT NOT NULL DEFAULT '',"
    " first_name TEXT NOT NULL DEFAULT '',"
    " last_name TEXT NOT NULL DEFAULT '',"
    " password TEXT NOT NULL,"
    " is_superuser INTEGER NOT NULL DEFAULT 0,"
    " is_active INTEGER NOT NULL DEFAULT 1,"
    " date_joined TEXT NOT NULL,"
    " last_activity TEXT NOT NULL);"
    "CREATE TABLE token ("
    " key TEXT PRIMARY KEY,"
    " user_id INTEGER NOT NULL UNIQUE REFERENCES user(id) ON DELETE CASCADE,"
    " created TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE session ("
    " key_hash TEXT PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,"
    " created_at TEXT NOT NULL,"
    " expires_at TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX session_user ON session(user_id);"
    "CREATE INDEX session_expires ON session(expires_at);"
    "CREATE TABLE project ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " title TEXT NOT NULL DEFAULT '',"
    " description TEXT NOT NULL DEFAULT '',"
    " label_config TEXT NOT NULL DEFAULT '<View></View>',"
    " expert_instruction TEXT NOT NULL DEFAULT '',"
    " show_instruction INTEGER NOT NULL DEFAULT 0,"
    " show_skip_button INTEGER NOT NULL DEFAULT 1,"
    " enable_empty_annotation INTEGER NOT NULL DEFAULT 1,"
    " show_annotation_history INTEGER NOT NULL DEFAULT 0,"
    " color TEXT NOT NULL DEFAULT '#FFFFFF',"
    " maximum_annotations INTEGER NOT NULL DEFAULT 1,"
    " is_published INTEGER NOT NULL DEFAULT 0,"
    " model_version TEXT NOT NULL DEFAULT '',"
    " is_draft INTEGER NOT NULL DEFAULT 0,"
    " min_annotations_to_start_training INTEGER NOT NULL DEFAULT 0,"
    " show_collab_predictions INTEGER NOT NULL DEFAULT 1,"
    " sampling TEXT NOT NULL DEFAULT 'Sequential sampling',"
    " show_ground_truth_first INTEGER NOT NULL DEFAULT 0,"
    " show_overlap_first INTEGER NOT NULL DEFAULT 0,"
    " overlap_cohort_percentage INTEGER NOT NULL DEFAULT 100,"
    " task_data_login TEXT,"
    " task_data_password TEXT,"
    " control_weights TEXT NOT NULL DEFAULT '{}',"
    " parsed_label_config TEXT NOT NULL DEFAULT '{}',"
    " evaluate_predictions_automatically INTEGER NOT NULL DEFAULT 0,"
    " skip_queue TEXT NOT NULL DEFAULT 'REQUEUE_FOR_OTHERS',"
    " reveal_preannotations_interactively INTEGER NOT NULL DEFAULT 0,"
    " pinned_at TEXT,"
    " data_types TEXT NOT NULL DEFAULT '{}',"
    " token TEXT NOT NULL DEFAULT '',"
    " created_by_id INTEGER REFERENCES user(id) ON DELETE SET NULL,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE TABLE file_upload ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " file TEXT NOT NULL UNIQUE,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " user_id INTEGER REFERENCES user(id) ON DELETE SET NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX file_upload_project ON file_upload(project_id);"
    "CREATE TABLE task ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " data TEXT NOT NULL,"
    " meta TEXT NOT NULL DEFAULT '{}',"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " is_labeled INTEGER NOT NULL DEFAULT 0,"
    " overlap INTEGER NOT NULL DEFAULT 1,"
    " inner_id INTEGER NOT NULL,"
    " total_annotations INTEGER NOT NULL DEFAULT 0,"
    " cancelled_annotations INTEGER NOT NULL DEFAULT 0,"
    " total_predictions INTEGER NOT NULL DEFAULT 0,"
    " prediction_score REAL,"
    " file_upload_id INTEGER REFERENCES file_upload(id) ON DELETE SET NULL,"
    " updated_by_id INTEGER REFERENCES user(id) ON DELETE SET NULL);"
    "CREATE INDEX task_project ON task(project_id, id);"
    "CREATE INDEX task_project_inner ON task(project_id, inner_id);"
    "CREATE INDEX task_next ON task(project_id, is_labeled, id);"
    "CREATE INDEX task_uncertain ON task(project_id, is_labeled, prediction_score);"
    "CREATE INDEX task_file_upload ON task(file_upload_id);"
    "CREATE INDEX task_totals ON task(project_id, total_annotations, cancelled_annotations,"
    " total_predictions);"
    "CREATE TABLE prediction ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " result TEXT NOT NULL DEFAULT '[]',"
    " score REAL,"
    " model_version TEXT NOT NULL DEFAULT '',"
    " cluster INTEGER,"
    " neighbors TEXT,"
    " mislabeling REAL NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX prediction_task ON prediction(task_id);"
    "CREATE INDEX prediction_project ON prediction(project_id, task_id);"
    "CREATE INDEX prediction_version ON prediction(project_id, model_version);"
    "CREATE TABLE annotation ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " completed_by_id INTEGER REFERENCES user(id) ON DELETE SET NULL,"
    " result TEXT,"
    " was_cancelled INTEGER NOT NULL DEFAULT 0,"
    " ground_truth INTEGER NOT NULL DEFAULT 0,"
    " lead_time REAL,"
    " prediction TEXT NOT NULL DEFAULT '{}',"
    " result_count INTEGER NOT NULL DEFAULT 0,"
    " parent_prediction_id INTEGER REFERENCES prediction(id) ON DELETE SET NULL,"
    " parent_annotation_id INTEGER REFERENCES annotation(id) ON DELETE SET NULL,"
    " last_action TEXT,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX annotation_task ON annotation(task_id);"
    "CREATE INDEX annotation_project ON annotation(project_id, task_id);"
    "CREATE INDEX annotation_user ON annotation(completed_by_id, task_id);"
    "CREATE INDEX annotation_parent_prediction ON annotation(parent_prediction_id);"
    "CREATE INDEX annotation_parent_annotation ON annotation(parent_annotation_id);",
    /* 2: task list views ordered by prediction score, NULLs last either way (store_task_view.c) */
    "CREATE INDEX task_view_score_asc ON task(project_id, (prediction_score IS NULL),"
    " prediction_score, id);"
    "CREATE INDEX task_view_score_desc ON task(project_id, (prediction_score IS NOT NULL),"
    " prediction_score, id);",

    /* 3: per-project totals kept by triggers, so /api/tasks answers its totals without scanning
     * the project's tasks */
    "CREATE TABLE project_stats ("
    " project_id INTEGER PRIMARY KEY REFERENCES project(id) ON DELETE CASCADE,"
    " tasks INTEGER NOT NULL DEFAULT 0,"
    " annotations INTEGER NOT NULL DEFAULT 0,"
    " predictions INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO project_stats(project_id, tasks, annotations, predictions)"
    " SELECT p.id, count(t.id), coalesce(sum(t.total_annotations), 0),"
    " coalesce(sum(t.total_predictions), 0)"
    " FROM project p LEFT JOIN task t ON t.project_id = p.id GROUP BY p.id;"
    "CREATE TRIGGER project_stats_new AFTER INSERT ON project BEGIN"
    " INSERT INTO project_stats(project_id) VALUES (NEW.id); END;"
    "CREATE TRIGGER task_stats_insert AFTER INSERT ON task BEGIN"
    " UPDATE project_stats SET tasks = tasks + 1,"
    " annotations = annotations + NEW.total_annotations,"
    " predictions = predictions + NEW.total_predictions WHERE project_id = NEW.project_id; END;"
    "CREATE TRIGGER task_stats_delete AFTER DELETE ON task BEGIN"
    " UPDATE project_stats SET tasks = tasks - 1,"
    " annotations = annotations - OLD.total_annotations,"
    " predictions = predictions - OLD.total_predictions WHERE project_id = OLD.project_id; END;"
    "CREATE TRIGGER task_stats_update"
    " AFTER UPDATE OF total_annotations, total_predictions, project_id ON task BEGIN"
    " UPDATE project_stats SET tasks = tasks - 1,"
    " annotations = annotations - OLD.total_annotations,"
    " predictions = predictions - OLD.total_predictions WHERE project_id = OLD.project_id;"
    " UPDATE project_stats SET tasks = tasks + 1,"
    " annotations = annotations + NEW.total_annotations,"
    " predictions = predictions + NEW.total_predictions WHERE project_id = NEW.project_id; END;"
    /* Fewer index entries per inserted task: the newest task's inner_id is found through
     * task_project, plain totals come from project_stats, and only tasks that have an upload or a
     * prediction score need those indexes (x = ? implies x IS NOT NULL, so the partial indexes
     * still serve the foreign-key checks and the uncertainty order). */
    "DROP INDEX task_project_inner;"
    "DROP INDEX task_totals;"
    "DROP INDEX task_file_upload;"
    "CREATE INDEX task_file_upload ON task(file_upload_id) WHERE file_upload_id IS NOT NULL;"
    "DROP INDEX task_uncertain;"
    "CREATE INDEX task_uncertain ON task(project_id, is_labeled, prediction_score)"
    " WHERE prediction_score IS NOT NULL;",

    /* 4: the loop (src/loop): its project settings, training jobs, the model registry, what each
     * annotation kept of the prediction it started from, Label Studio's ML backend rows, and the
     * uncertainty of each task under the project's current model (the queue's order) */
    "ALTER TABLE project ADD COLUMN loop_enabled INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE project ADD COLUMN loop_min_labeled INTEGER NOT NULL DEFAULT 10;"
    "ALTER TABLE project ADD COLUMN loop_retrain_every INTEGER NOT NULL DEFAULT 20;"
    "ALTER TABLE task ADD COLUMN uncertainty REAL;"
    "CREATE INDEX task_next_uncertain ON task(project_id, is_labeled, uncertainty DESC, id)"
    " WHERE uncertainty IS NOT NULL;"
    "CREATE INDEX task_view_unc_asc ON task(project_id, (uncertainty IS NULL), uncertainty, id);"
    "CREATE INDEX task_view_unc_desc ON task(project_id, (uncertainty IS NOT NULL), uncertainty,"
    " id);"
    "CREATE INDEX annotation_updated ON annotation(project_id, updated_at);"
    "CREATE TABLE ml_version ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " parent_id INTEGER REFERENCES ml_version(id) ON DELETE SET NULL,"
    " job_id INTEGER,"
    " file TEXT NOT NULL,"
    " arch TEXT NOT NULL,"
    " input_size INTEGER NOT NULL,"
    " classes TEXT NOT NULL DEFAULT '[]',"
    " train_images INTEGER NOT NULL DEFAULT 0,"
    " heldout_images INTEGER NOT NULL DEFAULT 0,"
    " epochs INTEGER NOT NULL DEFAULT 0,"
    " duration_s REAL NOT NULL DEFAULT 0,"
    " ap REAL, ap50 REAL, ap75 REAL,"
    " base_ap REAL, base_ap50 REAL, base_ap75 REAL,"
    " score_thr REAL NOT NULL DEFAULT 0.3,"
    " promoted INTEGER NOT NULL DEFAULT 0,"
    " reason TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL,"
    " promoted_at TEXT,"
    " UNIQUE(project_id, name));"
    "CREATE TABLE ml_job ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '',"
    " attempt INTEGER NOT NULL DEFAULT 1,"
    " version_id INTEGER REFERENCES ml_version(id) ON DELETE SET NULL,"
    " created_at TEXT NOT NULL,"
    " started_at TEXT,"
    " ended_at TEXT,"
    " pid INTEGER NOT NULL DEFAULT 0,"
    " cancel_requested INTEGER NOT NULL DEFAULT 0,"
    " phase TEXT NOT NULL DEFAULT '',"
    " progress TEXT NOT NULL DEFAULT '{}',"
    " log TEXT NOT NULL DEFAULT '',"
    " error TEXT,"
    " params TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX ml_job_project ON ml_job(project_id, id);"
    "CREATE INDEX ml_job_state ON ml_job(state, id);"
    "CREATE TABLE ml_help ("
    " annotation_id INTEGER PRIMARY KEY REFERENCES annotation(id) ON DELETE CASCADE,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,"
    " prediction_id INTEGER REFERENCES prediction(id) ON DELETE SET NULL,"
    " model_version TEXT NOT NULL DEFAULT '',"
    " shown INTEGER NOT NULL DEFAULT 0,"
    " accepted INTEGER NOT NULL DEFAULT 0,"
    " adjusted INTEGER NOT NULL DEFAULT 0,"
    " deleted INTEGER NOT NULL DEFAULT 0,"
    " drawn INTEGER NOT NULL DEFAULT 0,"
    " adjust_iou REAL NOT NULL DEFAULT 0,"
    " lead_time REAL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX ml_help_project ON ml_help(project_id, model_version);"
    "CREATE INDEX ml_help_task ON ml_help(task_id);"
    "CREATE TABLE ml_backend ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " url TEXT NOT NULL DEFAULT '',"
    " title TEXT NOT NULL DEFAULT 'default',"
    " description TEXT NOT NULL DEFAULT '',"
    " is_interactive INTEGER NOT NULL DEFAULT 0,"
    " timeout REAL NOT NULL DEFAULT 100.0,"
    " auto_update INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX ml_backend_project ON ml_backend(project_id);",

    /* 5: Label Studio's data-manager views (tabs: filters, ordering, selection kept in `data`)
     * and export snapshots (/api/projects/{id}/exports) */
    "CREATE TABLE dm_view ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " user_id INTEGER REFERENCES user(id) ON DELETE SET NULL,"
    " data TEXT NOT NULL DEFAULT '{}',"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX dm_view_project ON dm_view(project_id, id);"
    "CREATE TABLE export_snapshot ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " created_by_id INTEGER REFERENCES user(id) ON DELETE SET NULL,"
    " title TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL,"
    " file TEXT NOT NULL DEFAULT '',"
    " md5 TEXT NOT NULL DEFAULT '',"
    " counters TEXT NOT NULL DEFAULT '{}',"
    " options TEXT NOT NULL DEFAULT '{}',"
    " created_at TEXT NOT NULL,"
    " finished_at TEXT);"
    "CREATE INDEX export_snapshot_project ON export_snapshot(project_id, id);",

    /* 6: external Label Studio ML backends (url != ''): their connection state as Label Studio
     * keeps it (CO/ER/DI/TR/PR), the last error, the model version /setup returned, and whether
     * the backend trains through the seed-era /train (no "model_class" in its /health) */
    "ALTER TABLE ml_backend ADD COLUMN state TEXT NOT NULL DEFAULT 'DI';"
    "ALTER TABLE ml_backend ADD COLUMN error_message TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE ml_backend ADD COLUMN model_version TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE ml_backend ADD COLUMN legacy_train INTEGER NOT NULL DEFAULT 0;",

    /* 7: the loop's map from a project's labels to a zoo model's classes ("label -> class"
     * lines), beside the built-in names and synonyms (src/loop, zero-shot pre-labels) */
    "ALTER TABLE project ADD COLUMN loop_label_map TEXT NOT NULL DEFAULT '';",

    /* 8: Label Studio's cloud storages (S3 import and export): the storage's settings, secrets
     * and sync state as its JSON fields in `data`, and the link from each imported object key to
     * the task made from it, so that a re-sync does not import an object twice */
    "CREATE TABLE storage ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " type TEXT NOT NULL,"
    " direction TEXT NOT NULL,"
    " data TEXT NOT NULL DEFAULT '{}',"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX storage_project ON storage(project_id, id);"
    "CREATE TABLE storage_link ("
    " task_id INTEGER PRIMARY KEY REFERENCES task(id) ON DELETE CASCADE,"
    " storage_id INTEGER NOT NULL REFERENCES storage(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL);"
    "CREATE INDEX storage_link_key ON storage_link(storage_id, key);",

    /* 9: Label Studio's task locks (TaskLock): the task /next handed to a user is skipped for
     * the others until that user annotates or skips it or the lock expires (microseconds since
     * the epoch, compared as integers on both back ends); an annotation by the lock's owner
     * releases it whatever the path that wrote it (API, import, bulk) */
    "CREATE TABLE task_lock ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE,"
    " task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,"
    " user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,"
    " expire_us INTEGER NOT NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX task_lock_task ON task_lock(task_id, expire_us);"
    "CREATE INDEX task_lock_user ON task_lock(project_id, user_id);"
    "CREATE INDEX task_lock_expire ON task_lock(expire_us);"
    "CREATE TRIGGER task_lock_release AFTER INSERT ON annotation BEGIN"
    " DELETE FROM task_lock WHERE task_id = NEW.task_id AND user_id = NEW.completed_by_id; END;",

    /* 10: leases on running jobs, so that several servers can share one database: the server
     * running a job (`owner`) renews `lease_until` (microseconds since the epoch) while its
     * worker lives; a job whose lease ran out is queued again by whichever server looks */
    "ALTER TABLE ml_job ADD COLUMN owner TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE ml_job ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX ml_job_lease ON ml_job(state, lease_until);",

    /* 11: failed logins counted for every server sharing the database (store_throttle.c): per
     * client address ('a') and account ('u'), keyed by a hash; microseconds since the epoch; old
     * rows pruned by last_us */
    "CREATE TABLE login_throttle ("
    " key TEXT PRIMARY KEY,"
    " fails INTEGER NOT NULL,"
    " last_us INTEGER NOT NULL,"
    " until_us INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX login_throttle_last ON login_throttle(last_us);",

    /* 12: model files kept in the database beside their version, so that a server or worker on
     * another machine (no shared disk) can load a model another one trained: base64 text, the
     * one value type both back ends bind and copy alike; sha256 of the file's bytes (hex) */
    "CREATE TABLE model_file ("
    " version_id INTEGER PRIMARY KEY REFERENCES ml_version(id) ON DELETE CASCADE,"
    " size INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " data TEXT NOT NULL);",

    /* 13: nothing on SQLite. On PostgreSQL a bulk import counts its own tasks into project_stats
     * once (store_import.c): updating that one row per task in one transaction grows the row's
     * version chain, and each update walks it (100,000 tasks: 85 s instead of 3 s) */
    "/* PostgreSQL only: task_stats_insert_fn skips bulk imports (store_pg_schema.c) */",
};

static const int nmigrations = (int)(sizeof migrations / sizeof migrations[0]);

static const char SQL_MIGRATIONS_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
    " applied_at TEXT NOT NULL)";

int store_migration_count(void)
{
    return nmigrations;
}

const char *store_migration(int i)
{
    return i < 0 ? SQL_MIGRATIONS_TABLE : i < nmigrations ? migrations[i] : NULL;
}

static int record_version(struct store_conn *c, int version, struct base_err *err)
{
    static const char sql[] = "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)";
    struct store_stmt *s = store_prepare(c, sql, err);
    if (!s)
        return -1;
    store_bind_int(s, 1, version);
    store_bind_time(s, 2, base_time_us());
    return store_step_done(c, s, err);
}

int store_current_version(struct store_conn *c, int *version, struct base_err *err)
{
    static const char sql[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";
    struct store_stmt *s = store_prepare(c, sql, err);
    if (!s || store_step_row(c, s, err, BASE_E_INTERNAL, "no schema version"))
        return -1;
    *version = store_col_int(s, 0);
    store_reset(s);
    return 0;
}

int store_migrate(struct store_conn *c, struct base_err *err)
{
    char *sql = store_migration_sql(c, -1);
    int rc = store_exec(c, sql, err);
    base_free(sql);
    if (rc)
        return -1;
    for (;;) {
        int v;
        if (store_begin(c, 1, err))
            return -1;
        if (store_current_version(c, &v, err))
            goto fail;
        if (v > nmigrations) {
            base_err_set(err, BASE_E_INTERNAL,
                         "database schema %d is newer than this labelloop (%d)", v, nmigrations);
            goto fail;
        }
        if (v == nmigrations)
            return store_commit(c, err);
        sql = store_migration_sql(c, v);
        rc = store_exec(c, sql, err) || record_version(c, v + 1, err) || store_commit(c, err);
        base_free(sql);
        if (rc) {
            base_err_prefix(err, "migration %d: ", v + 1);
            goto fail;
        }
        BASE_INFO("store: applied migration %d", v + 1);
    }
fail:
    store_rollback(c);
    return -1;
}

int store_schema_version(struct store *st, int *version, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = store_current_version(c, version, err);
    store_conn_put(st, c);
    return rc;
}

/* ---- statements ------------------------------------------------------------------------------ */

int store_step_done(struct store_conn *c, struct store_stmt *s, struct base_err *err)
{
    int rc = store_step(s);
    store_reset(s);
    return rc == STORE_DONE ? 0 : store_fail(c, rc, err);
}

int store_step_row(struct store_conn *c, struct store_stmt *s, struct base_err *err,
                   enum base_status missing, const char *fmt, ...)
{
    int rc = store_step(s);
    if (rc == STORE_ROW)
        return 0;
    if (rc != STORE_DONE)
        return store_fail(c, rc, err);
    va_list ap;
    va_start(ap, fmt);
    base_err_vset(err, missing, fmt, ap);
    va_end(ap);
    return -1;
}

int store_step_returning(struct store_stmt *s, int64_t *id)
{
    int rc = store_step(s);
    *id = rc == STORE_ROW ? store_col_i64(s, 0) : 0;
    if (rc == STORE_ROW)
        rc = store_step(s);
    store_reset(s);
    return rc;
}

int store_step_id(struct store_conn *c, struct store_stmt *s, int64_t *id, struct base_err *err)
{
    int rc = store_step_returning(s, id);
    return rc == STORE_DONE ? 0 : store_fail(c, rc, err);
}

int store_write_on(struct store_conn *c, const char *sql, store_bind_fn bind, void *arg,
                   const char *missing, int64_t *rowid, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, sql, err);
    if (!s)
        return -1;
    if (bind)
        bind(s, arg);
    int64_t id;
    if (store_step_id(c, s, &id, err))
        return -1;
    if (missing && store_changes(c) == 0)
        return base_err_set(err, BASE_E_NOTFOUND, "%s", missing);
    if (rowid && id == 0 && store_changes(c) > 0) /* a write without RETURNING id */
        return base_err_set(err, BASE_E_INTERNAL, "store: the new row's id was not returned");
    if (rowid)
        *rowid = id;
    return 0;
}

struct write_args {
    const char *sql;
    store_bind_fn bind;
    void *arg;
    const char *missing;
    int64_t *rowid;
};

static int write_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct write_args *w = ctx;
    return store_write_on(c, w->sql, w->bind, w->arg, w->missing, w->rowid, err);
}

int store_write_one(struct store *st, const char *sql, store_bind_fn bind, void *arg,
                    const char *missing, int64_t *rowid, struct base_err *err)
{
    struct write_args w = {sql, bind, arg, missing, rowid};
    return store_tx(st, STORE_TX_NONE, write_body, &w, err);
}

int store_write_tx(struct store *st, const char *sql, store_bind_fn bind, void *arg,
                   const char *missing, struct base_err *err)
{
    struct write_args w = {sql, bind, arg, missing, NULL};
    return store_tx(st, STORE_TX_WRITE, write_body, &w, err);
}

int store_one_on(struct store_conn *c, const struct store_one *q, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, q->sql, err);
    if (!s)
        return -1;
    if (q->text)
        store_bind_text(s, 1, q->text);
    else
        store_bind_i64(s, 1, q->key);
    int rc = store_step_row(c, s, err, q->missing ? q->missing : BASE_E_NOTFOUND, "%s",
                            q->msg ? q->msg : "Not found.");
    if (!rc)
        q->load(s, q->out);
    store_reset(s);
    return rc;
}

static int one_body(struct store_conn *c, void *q, struct base_err *err)
{
    return store_one_on(c, q, err);
}

int store_one(struct store *st, const struct store_one *q, struct base_err *err)
{
    return store_tx(st, STORE_TX_NONE, one_body, (void *)q, err);
}

void store_bind_id_arg(struct store_stmt *s, void *id)
{
    store_bind_i64(s, 1, *(const int64_t *)id);
}

void store_bind_ids_arg(struct store_stmt *s, void *ids)
{
    store_bind_i64(s, 1, ((const int64_t *)ids)[0]);
    store_bind_i64(s, 2, ((const int64_t *)ids)[1]);
}

int store_read(struct store *st, const char *sql, store_bind_fn bind, void *arg, int one,
               store_row_fn row, void *ctx, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    struct store_stmt *s = store_prepare(c, sql, err);
    int rc = s ? 0 : -1, step = STORE_DONE, rows = 0;
    if (s && bind)
        bind(s, arg);
    while (rc == 0 && (step = store_step(s)) == STORE_ROW) {
        rows++;
        rc = row(ctx, s, err);
    }
    if (rc == 0 && step != STORE_DONE)
        rc = store_fail(c, step, err);
    if (rc == 0 && one && rows == 0)
        rc = base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    store_conn_put(st, c);
    return rc;
}

int store_tx(struct store *st, enum store_tx_mode mode, store_tx_fn fn, void *ctx,
             struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = mode != STORE_TX_NONE ? store_begin(c, mode == STORE_TX_WRITE, err) : 0;
    if (rc == 0)
        rc = fn(c, ctx, err);
    if (rc == 0 && mode != STORE_TX_NONE)
        rc = store_commit(c, err);
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

/* ---- binding and reading values ---------------------------------------------------------------
 */

void store_bind_time(struct store_stmt *s, int i, int64_t us)
{
    char stamp[32];
    base_time_sql(us, stamp);
    store_bind_text(s, i, stamp);
}

void store_bind_id(struct store_stmt *s, int i, int64_t id)
{
    if (id > 0)
        store_bind_i64(s, i, id);
    else
        store_bind_null(s, i);
}

void store_load_fields(struct store_stmt *s, const struct store_field *f, size_t n, void *out)
{
    for (size_t i = 0; i < n; i++) {
        void *m = (char *)out + f[i].offset;
        int c = f[i].col;
        switch (f[i].how) {
        case STORE_RD_I64:
            *(int64_t *)m = store_col_i64(s, c);
            break;
        case STORE_RD_INT:
            *(int *)m = store_col_int(s, c);
            break;
        case STORE_RD_REAL:
            *(double *)m = store_col_real(s, c);
            break;
        case STORE_RD_TIME:
            *(int64_t *)m = store_col_time(s, c);
            break;
        case STORE_RD_TEXT:
            store_col_copy(s, c, m, f[i].size);
            break;
        case STORE_RD_SET:
            *(int *)m = !store_col_null(s, c);
            break;
        }
    }
}

int64_t store_col_time(struct store_stmt *s, int i)
{
    const char *text = store_col_str(s, i);
    int64_t us = 0;
    if (text)
        base_time_parse(text, &us);
    return us;
}

json_t *store_col_json(struct store_stmt *s, int i)
{
    if (store_col_null(s, i))
        return NULL;
    const char *text = store_col_str(s, i);
    return base_json_parse(text, store_col_len(s, i), NULL);
}

const char *store_col_json_text(struct store_stmt *s, int i, struct base_arena *a, size_t *len)
{
    const char *text = store_col_str(s, i);
    *len = text ? store_col_len(s, i) : 0;
    return text ? base_arena_strndup(a, text, *len) : NULL;
}

const char *store_col_text(struct store_stmt *s, int i, struct base_arena *a)
{
    const char *text = store_col_str(s, i);
    return text ? base_arena_strndup(a, text, store_col_len(s, i)) : NULL;
}

void store_col_copy(struct store_stmt *s, int i, char *out, size_t size)
{
    const char *text = store_col_str(s, i);
    snprintf(out, size, "%s", text ? text : "");
}
