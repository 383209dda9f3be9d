/* The route table: every endpoint of the server is one line here (method, path pattern,
 * handler, flags). Patterns are matched in order with a trailing slash optional; "{id}" is a
 * positive integer (r->m.ids[] in order), "{*}" the rest of the path (r->m.tail). Flags: public
 * routes need no credentials; upload routes take large bodies (spooled to disk). */
#include "api_int.h"

const struct api_route api_routes[] = {
    {"GET", "/health", api_health, API_PUBLIC},
    {"GET", "/api/health", api_health, API_PUBLIC},
    {"GET", "/version", api_version, API_PUBLIC},
    {"GET", "/api/version", api_version, API_PUBLIC},

    {"POST", "/api/auth/login", api_auth_login, API_PUBLIC},
    {"POST", "/api/auth/logout", api_auth_logout, API_PUBLIC},
    {"GET", "/api/current-user/whoami", api_whoami, 0},
    {"GET", "/api/current-user/token", api_token_get, 0},
    {"POST", "/api/current-user/reset-token", api_token_reset, 0},
    {"POST", "/api/current-user/password", api_current_user_password, 0},

    {"GET", "/api/projects", api_projects_list, 0},
    {"POST", "/api/projects", api_projects_create, 0},
    {"POST", "/api/projects/validate", api_projects_validate, API_PUBLIC},
    {"GET", "/api/projects/{id}", api_project_get, 0},
    {"PATCH", "/api/projects/{id}", api_project_patch, 0},
    {"DELETE", "/api/projects/{id}", api_project_delete, 0},
    {"POST", "/api/projects/{id}/validate", api_project_validate, 0},
    {"GET", "/api/projects/{id}/next", api_project_next, 0},
    {"POST", "/api/projects/{id}/import", api_project_import, API_UPLOAD},
    {"POST", "/api/projects/{id}/import/dataset", api_project_import_dataset, API_UPLOAD},
    {"GET", "/api/projects/{id}/export", api_project_export, 0},
    {"GET", "/api/projects/{id}/export/formats", api_project_export_formats, 0},
    {"GET", "/api/projects/{id}/tasks", api_project_tasks_list, 0},
    {"DELETE", "/api/projects/{id}/tasks", api_project_tasks_delete, 0},
    {"POST", "/api/projects/{id}/import/predictions", api_project_import_predictions, 0},
    {"GET", "/api/projects/{id}/model-versions", api_project_model_versions, 0},
    {"GET", "/api/projects/{id}/exports", api_project_exports_list, 0},
    {"POST", "/api/projects/{id}/exports", api_project_exports_create, 0},
    {"GET", "/api/projects/{id}/exports/formats", api_project_export_formats, 0},
    {"GET", "/api/projects/{id}/exports/{id}", api_project_export_get, 0},
    {"DELETE", "/api/projects/{id}/exports/{id}", api_project_export_delete, 0},
    {"GET", "/api/projects/{id}/exports/{id}/download", api_project_export_download, 0},

    {"GET", "/api/dm/views", api_dm_views_list, 0},
    {"POST", "/api/dm/views", api_dm_views_create, 0},
    {"DELETE", "/api/dm/views/reset", api_dm_views_reset, 0},
    {"GET", "/api/dm/views/{id}", api_dm_view_get, 0},
    {"PATCH", "/api/dm/views/{id}", api_dm_view_patch, 0},
    {"PUT", "/api/dm/views/{id}", api_dm_view_patch, 0},
    {"DELETE", "/api/dm/views/{id}", api_dm_view_delete, 0},
    {"GET", "/api/dm/actions", api_dm_actions_list, 0},
    {"POST", "/api/dm/actions", api_dm_actions_run, 0},

    {"GET", "/api/storages/{*}", api_storages_none, 0},
    {"POST", "/api/storages/{*}", api_storages_none, 0},

    {"GET", "/api/users", api_users_list, 0},
    {"POST", "/api/users", api_users_create, 0},
    {"GET", "/api/users/{id}", api_user_get, 0},
    {"POST", "/user/login", api_user_login_form, API_PUBLIC},

    {"GET", "/api/tasks", api_tasks_list, 0},
    {"POST", "/api/tasks", api_tasks_create, 0},
    {"GET", "/api/tasks/{id}", api_task_get, 0},
    {"PATCH", "/api/tasks/{id}", api_task_patch, 0},
    {"DELETE", "/api/tasks/{id}", api_task_delete, 0},
    {"GET", "/api/tasks/{id}/thumbnail", api_task_thumbnail, 0},
    {"GET", "/api/tasks/{id}/annotations", api_task_annotations_list, 0},
    {"POST", "/api/tasks/{id}/annotations", api_task_annotations_create, 0},

    {"GET", "/api/annotations/{id}", api_annotation_get, 0},
    {"PATCH", "/api/annotations/{id}", api_annotation_patch, 0},
    {"DELETE", "/api/annotations/{id}", api_annotation_delete, 0},

    {"GET", "/api/predictions", api_predictions_list, 0},
    {"POST", "/api/predictions", api_predictions_create, 0},
    {"GET", "/api/predictions/{id}", api_prediction_get, 0},
    {"PATCH", "/api/predictions/{id}", api_prediction_patch, 0},
    {"PUT", "/api/predictions/{id}", api_prediction_patch, 0},
    {"DELETE", "/api/predictions/{id}", api_prediction_delete, 0},

    {"GET", "/api/ml", api_ml_list, 0},
    {"POST", "/api/ml", api_ml_create, 0},
    {"DELETE", "/api/ml/{id}", api_ml_delete, 0},
    {"GET", "/api/ml/{id}", api_ml_get, 0},
    {"PATCH", "/api/ml/{id}", api_ml_patch, 0},
    {"POST", "/api/ml/{id}/train", api_ml_train, 0},
    {"GET", "/api/ml/{id}/versions", api_ml_versions, 0},

    {"GET", "/api/projects/{id}/model", api_model_get, 0},
    {"GET", "/api/projects/{id}/model/versions", api_model_versions, 0},
    {"GET", "/api/projects/{id}/model/versions/{id}", api_model_version_get, 0},
    {"DELETE", "/api/projects/{id}/model/versions/{id}", api_model_version_delete, 0},
    {"POST", "/api/projects/{id}/model/versions/{id}/rollback", api_model_rollback, 0},
    {"POST", "/api/projects/{id}/model/train", api_model_train, 0},
    {"GET", "/api/projects/{id}/model/jobs", api_model_jobs, 0},
    {"GET", "/api/projects/{id}/model/jobs/{id}", api_model_job_get, 0},
    {"POST", "/api/projects/{id}/model/jobs/{id}/cancel", api_model_job_cancel, 0},
    {"GET", "/api/projects/{id}/model/help", api_model_help, 0},

    {"GET", "/data/upload/{*}", api_media_upload, 0},
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];
