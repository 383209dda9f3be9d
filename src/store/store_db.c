/* Opening the database, numbered migrations, the connection pool and the statement cache, and
 * the small helpers every store file shares. */
#include "store_int.h"

#include <sodium.h>
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
};

static const int nmigrations = (int)(sizeof migrations / sizeof migrations[0]);

static int exec(sqlite3 *db, const char *sql, struct base_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    base_err_set(err, BASE_E_INTERNAL, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

static int current_version(sqlite3 *db, int *version, struct base_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
                                &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    else
        base_err_set(err, BASE_E_INTERNAL, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : -1;
}

static int record_version(sqlite3 *db, int version, struct base_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        db, "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(s, 1, version);
        store_bind_time(s, 2, base_time_us());
        rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc != SQLITE_OK)
        base_err_set(err, BASE_E_INTERNAL, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : -1;
}

static int migrate(sqlite3 *db, struct base_err *err)
{
    if (exec(db,
             "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
             " applied_at TEXT NOT NULL)",
             err))
        return -1;
    for (;;) {
        int v;
        if (exec(db, "BEGIN IMMEDIATE", err))
            return -1;
        if (current_version(db, &v, err))
            goto fail;
        if (v > nmigrations) {
            base_err_set(err, BASE_E_INTERNAL,
                         "database schema %d is newer than this labelloop (%d)", v, nmigrations);
            goto fail;
        }
        if (v == nmigrations)
            return exec(db, "COMMIT", err);
        if (exec(db, migrations[v], err) || record_version(db, v + 1, err) ||
            exec(db, "COMMIT", err)) {
            base_err_prefix(err, "migration %d: ", v + 1);
            goto fail;
        }
        BASE_INFO("store: applied migration %d", v + 1);
    }
fail:
    exec(db, "ROLLBACK", NULL);
    return -1;
}

/* ---- connections ----------------------------------------------------------------------------- */

static struct store_conn *conn_open(const char *path, struct base_err *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        base_err_set(err, BASE_E_IO, "cannot open database %s: %s", path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, STORE_BUSY_MS);
    sqlite3_extended_result_codes(db, 1);
    store_regexp_register(db);
    if (exec(db,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
             " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-4000",
             err)) {
        sqlite3_close(db);
        return NULL;
    }
    struct store_conn *c = base_calloc(1, sizeof *c);
    c->db = db;
    return c;
}

static void conn_close(struct store_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nstmts; i++)
        sqlite3_finalize(c->stmts[i].stmt);
    sqlite3_close(c->db);
    base_free(c);
}

struct store *store_open(const char *path, struct base_err *err)
{
    if (sodium_init() < 0) {
        base_err_set(err, BASE_E_INTERNAL, "libsodium failed to initialise");
        return NULL;
    }
    struct store_conn *c = conn_open(path, err);
    if (!c)
        return NULL;
    if (migrate(c->db, err)) {
        conn_close(c);
        return NULL;
    }
    struct store *st = base_calloc(1, sizeof *st);
    st->path = base_strdup(path);
    pthread_mutex_init(&st->lock, NULL);
    st->idle = c;
    st->nidle = 1;
    return st;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    while (st->idle) {
        struct store_conn *c = st->idle;
        st->idle = c->next;
        conn_close(c);
    }
    pthread_mutex_destroy(&st->lock);
    base_free(st->path);
    base_free(st);
}

struct store_conn *store_conn_get(struct store *st, struct base_err *err)
{
    pthread_mutex_lock(&st->lock);
    struct store_conn *c = st->idle;
    if (c) {
        st->idle = c->next;
        st->nidle--;
    }
    pthread_mutex_unlock(&st->lock);
    return c ? c : conn_open(st->path, err);
}

void store_conn_put(struct store *st, struct store_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nstmts; i++)
        if (sqlite3_stmt_busy(c->stmts[i].stmt))
            sqlite3_reset(c->stmts[i].stmt);
    if (!sqlite3_get_autocommit(c->db))
        exec(c->db, "ROLLBACK", NULL);
    pthread_mutex_lock(&st->lock);
    int keep = st->nidle < STORE_POOL_IDLE;
    if (keep) {
        c->next = st->idle;
        st->idle = c;
        st->nidle++;
    }
    pthread_mutex_unlock(&st->lock);
    if (!keep)
        conn_close(c);
}

int store_schema_version(struct store *st, int *version, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = current_version(c->db, version, err);
    store_conn_put(st, c);
    return rc;
}

/* ---- statements ------------------------------------------------------------------------------ */

int store_fail(struct store_conn *c, int rc, struct base_err *err)
{
    int primary = rc & 0xff;
    const char *msg = sqlite3_errmsg(c->db);
    switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return base_err_set(err, BASE_E_BUSY, "database is busy, try again");
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            return base_err_set(err, BASE_E_INVALID, "a referenced object does not exist");
        return base_err_set(err, BASE_E_CONFLICT, "constraint failed: %s", msg);
    case SQLITE_NOMEM:
        return base_err_set(err, BASE_E_NOMEM, "database out of memory");
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return base_err_set(err, BASE_E_IO, "database I/O error: %s", msg);
    case SQLITE_TOOBIG:
        return base_err_set(err, BASE_E_TOOBIG, "value too big for the database");
    }
    return base_err_set(err, BASE_E_INTERNAL, "sqlite: %s", msg);
}

sqlite3_stmt *store_stmt(struct store_conn *c, const char *sql, struct base_err *err)
{
    for (size_t i = 0; i < c->nstmts; i++)
        if (c->stmts[i].sql == sql) {
            sqlite3_stmt *s = c->stmts[i].stmt;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return s;
        }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        store_fail(c, rc, err);
        return NULL;
    }
    BASE_ASSERT(c->nstmts < STORE_STMT_CACHE);
    c->stmts[c->nstmts].sql = sql;
    c->stmts[c->nstmts].stmt = s;
    c->nstmts++;
    return s;
}

int store_step_done(struct store_conn *c, sqlite3_stmt *s, struct base_err *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_fail(c, rc, err);
}

int store_step_row(struct store_conn *c, sqlite3_stmt *s, struct base_err *err,
                   enum base_status missing, const char *fmt, ...)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return store_fail(c, rc, err);
    va_list ap;
    va_start(ap, fmt);
    base_err_vset(err, missing, fmt, ap);
    va_end(ap);
    return -1;
}

int store_write_on(struct store_conn *c, const char *sql, store_bind_fn bind, void *arg,
                   const char *missing, int64_t *rowid, struct base_err *err)
{
    sqlite3_stmt *s = store_stmt(c, sql, err);
    if (!s)
        return -1;
    if (bind)
        bind(s, arg);
    if (store_step_done(c, s, err))
        return -1;
    if (missing && sqlite3_changes(c->db) == 0)
        return base_err_set(err, BASE_E_NOTFOUND, "%s", missing);
    if (rowid)
        *rowid = sqlite3_last_insert_rowid(c->db);
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
    sqlite3_stmt *s = store_stmt(c, q->sql, err);
    if (!s)
        return -1;
    if (q->text)
        sqlite3_bind_text(s, 1, q->text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(s, 1, q->key);
    int rc = store_step_row(c, s, err, q->missing ? q->missing : BASE_E_NOTFOUND, "%s",
                            q->msg ? q->msg : "Not found.");
    if (!rc)
        q->load(s, q->out);
    sqlite3_reset(s);
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

void store_bind_id_arg(sqlite3_stmt *s, void *id)
{
    sqlite3_bind_int64(s, 1, *(const int64_t *)id);
}

void store_bind_ids_arg(sqlite3_stmt *s, void *ids)
{
    sqlite3_bind_int64(s, 1, ((const int64_t *)ids)[0]);
    sqlite3_bind_int64(s, 2, ((const int64_t *)ids)[1]);
}

int store_read(struct store *st, const char *sql, store_bind_fn bind, void *arg, int one,
               store_row_fn row, void *ctx, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    sqlite3_stmt *s = store_stmt(c, sql, err);
    int rc = s ? 0 : -1, step = SQLITE_DONE, rows = 0;
    if (s && bind)
        bind(s, arg);
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        rows++;
        rc = row(ctx, s, err);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_fail(c, step, err);
    if (rc == 0 && one && rows == 0)
        rc = base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    store_conn_put(st, c);
    return rc;
}

/* Transaction control through cached statements: sqlite3_exec would parse the SQL every time,
 * which was a tenth of the cost of a single-task GET. */
static const char SQL_BEGIN_WRITE[] = "BEGIN IMMEDIATE";
static const char SQL_BEGIN_READ[] = "BEGIN";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

int store_begin(struct store_conn *c, int write, struct base_err *err)
{
    sqlite3_stmt *s = store_stmt(c, write ? SQL_BEGIN_WRITE : SQL_BEGIN_READ, err);
    return s ? store_step_done(c, s, err) : -1;
}

int store_commit(struct store_conn *c, struct base_err *err)
{
    sqlite3_stmt *s = store_stmt(c, SQL_COMMIT, err);
    if (s && store_step_done(c, s, err) == 0)
        return 0;
    store_rollback(c);
    return -1;
}

void store_rollback(struct store_conn *c)
{
    if (sqlite3_get_autocommit(c->db))
        return;
    sqlite3_stmt *s = store_stmt(c, SQL_ROLLBACK, NULL);
    if (!s || store_step_done(c, s, NULL))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
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

void store_bind_time(sqlite3_stmt *s, int i, int64_t us)
{
    char stamp[32];
    base_time_sql(us, stamp);
    sqlite3_bind_text(s, i, stamp, -1, SQLITE_TRANSIENT);
}

void store_bind_json(sqlite3_stmt *s, int i, const json_t *v)
{
    if (!v) {
        sqlite3_bind_null(s, i);
        return;
    }
    size_t len;
    char *text = base_json_dumps(v, BASE_JSON_COMPACT, &len);
    sqlite3_bind_text64(s, i, text, len, base_free, SQLITE_UTF8);
}

void store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

void store_bind_id(sqlite3_stmt *s, int i, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(s, i, id);
    else
        sqlite3_bind_null(s, i);
}

void store_load_fields(sqlite3_stmt *s, const struct store_field *f, size_t n, void *out)
{
    for (size_t i = 0; i < n; i++) {
        void *m = (char *)out + f[i].offset;
        int c = f[i].col;
        switch (f[i].how) {
        case STORE_RD_I64:
            *(int64_t *)m = sqlite3_column_int64(s, c);
            break;
        case STORE_RD_INT:
            *(int *)m = sqlite3_column_int(s, c);
            break;
        case STORE_RD_REAL:
            *(double *)m = sqlite3_column_double(s, c);
            break;
        case STORE_RD_TIME:
            *(int64_t *)m = store_col_time(s, c);
            break;
        case STORE_RD_TEXT:
            store_col_copy(s, c, m, f[i].size);
            break;
        case STORE_RD_SET:
            *(int *)m = sqlite3_column_type(s, c) != SQLITE_NULL;
            break;
        }
    }
}

int64_t store_col_time(sqlite3_stmt *s, int i)
{
    const char *text = (const char *)sqlite3_column_text(s, i);
    int64_t us = 0;
    if (text)
        base_time_parse(text, &us);
    return us;
}

json_t *store_col_json(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return NULL;
    const char *text = (const char *)sqlite3_column_text(s, i);
    return base_json_parse(text, (size_t)sqlite3_column_bytes(s, i), NULL);
}

const char *store_col_json_text(sqlite3_stmt *s, int i, struct base_arena *a, size_t *len)
{
    const char *text = (const char *)sqlite3_column_text(s, i);
    *len = text ? (size_t)sqlite3_column_bytes(s, i) : 0;
    return text ? base_arena_strndup(a, text, *len) : NULL;
}

const char *store_col_text(sqlite3_stmt *s, int i, struct base_arena *a)
{
    const char *text = (const char *)sqlite3_column_text(s, i);
    return text ? base_arena_strndup(a, text, (size_t)sqlite3_column_bytes(s, i)) : NULL;
}

void store_col_copy(sqlite3_stmt *s, int i, char *out, size_t size)
{
    const char *text = (const char *)sqlite3_column_text(s, i);
    snprintf(out, size, "%s", text ? text : "");
}
