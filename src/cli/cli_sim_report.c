/* What `labelloop simulate` writes: one CSV row per labeled task and per model version, an SVG
 * with the learning curve and the annotator's cumulative time against labeling by hand, and the
 * summary line (time and actions saved, the ceiling a perfect model would reach, held-out AP50
 * after 100 tasks, the longest cycle, the API's p99 while jobs ran). */
#include "cli_int.h"

#include <stdio.h>
#include <string.h>

struct totals {
    double spent, by_hand, look;
    long actions, by_hand_actions, kept, adjusted, deleted, drawn;
};

static void add_up(const struct cli_sim_report *r, struct totals *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct cli_sim_step *s = &r->steps[i];
        t->spent += s->a.seconds;
        t->by_hand += s->by_hand_s;
        t->look += r->costs->look_s;
        t->kept += s->a.kept, t->adjusted += s->a.adjusted;
        t->deleted += s->a.deleted, t->drawn += s->a.drawn;
        t->actions += s->a.adjusted + s->a.deleted + s->a.drawn;
        t->by_hand_actions += s->truth;
    }
}

static const struct cli_sim_version *find_version(const struct cli_sim_report *r, const char *name)
{
    for (size_t i = 0; name[0] && i < r->nversions; i++)
        if (!strcmp(r->versions[i].name, name))
            return &r->versions[i];
    return NULL;
}

static int write_steps(const struct cli_sim_report *r, const char *path, struct base_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return base_err_set(err, BASE_E_IO, "cannot write %s", path);
    fprintf(f, "step,task,start_s,current_model,shown_model,shown,truth,kept,adjusted,deleted,"
               "drawn,seconds,by_hand_seconds,cumulative_s,cumulative_by_hand_s\n");
    double cum = 0, cum_hand = 0;
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct cli_sim_step *s = &r->steps[i];
        cum += s->a.seconds, cum_hand += s->by_hand_s;
        fprintf(f, "%zu,%lld,%.1f,%s,%s,%d,%d,%d,%d,%d,%d,%.1f,%.1f,%.1f,%.1f\n", i + 1,
                (long long)s->task, s->start_s, s->current, s->version, s->shown, s->truth,
                s->a.kept, s->a.adjusted, s->a.deleted, s->a.drawn, s->a.seconds, s->by_hand_s, cum,
                cum_hand);
    }
    return fclose(f) ? base_err_set(err, BASE_E_IO, "cannot write %s", path) : 0;
}

static int write_versions(const struct cli_sim_report *r, const char *path, struct base_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return base_err_set(err, BASE_E_IO, "cannot write %s", path);
    fprintf(f, "version,promoted,train_images,heldout_images,heldout_ap,heldout_ap50,heldout_ap75,"
               "train_s,cycle_s,first_step_current\n");
    for (size_t i = 0; i < r->nversions; i++) {
        const struct cli_sim_version *v = &r->versions[i];
        size_t first = 0;
        for (size_t k = 0; k < r->nsteps && !first; k++)
            first = !strcmp(r->steps[k].current, v->name) ? k + 1 : 0;
        fprintf(f, "%s,%d,%lld,%lld,%.4f,%.4f,%.4f,%.1f,%.1f,%zu\n", v->name, v->promoted,
                (long long)v->train_images, (long long)v->heldout_images, v->ap, v->ap50, v->ap75,
                v->train_s, v->cycle_s, first);
    }
    return fclose(f) ? base_err_set(err, BASE_E_IO, "cannot write %s", path) : 0;
}

/* ---- the plot ---- */

struct panel {
    double x, y, w, h; /* pixels of the plot area */
    double xmax, ymax; /* data ranges from 0 */
};

static double px(const struct panel *p, double v)
{
    return p->x + v / p->xmax * p->w;
}

static double py(const struct panel *p, double v)
{
    return p->y + p->h - v / p->ymax * p->h;
}

static void axes(FILE *f, const struct panel *p, const char *xlabel, const char *ylabel,
                 const char *title)
{
    fprintf(f, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='none' stroke='#999'/>\n",
            p->x, p->y, p->w, p->h);
    for (int i = 0; i <= 4; i++) {
        double xv = p->xmax * i / 4, yv = p->ymax * i / 4;
        fprintf(f, "<text x='%.0f' y='%.0f' font-size='11' text-anchor='middle'>%.4g</text>\n",
                px(p, xv), p->y + p->h + 14, xv);
        fprintf(f, "<text x='%.0f' y='%.0f' font-size='11' text-anchor='end'>%.4g</text>\n",
                p->x - 4, py(p, yv) + 4, yv);
        fprintf(f, "<line x1='%.0f' x2='%.0f' y1='%.1f' y2='%.1f' stroke='#eee'/>\n", p->x,
                p->x + p->w, py(p, yv), py(p, yv));
    }
    fprintf(f, "<text x='%.0f' y='%.0f' font-size='12' text-anchor='middle'>%s</text>\n",
            p->x + p->w / 2, p->y + p->h + 30, xlabel);
    fprintf(f,
            "<text x='%.0f' y='%.0f' font-size='12' text-anchor='middle' "
            "transform='rotate(-90 %.0f %.0f)'>%s</text>\n",
            p->x - 38, p->y + p->h / 2, p->x - 38, p->y + p->h / 2, ylabel);
    fprintf(f, "<text x='%.0f' y='%.0f' font-size='13' font-weight='bold'>%s</text>\n", p->x,
            p->y - 8, title);
}

static void curve_series(FILE *f, const struct cli_sim_report *r, const struct panel *p, int ap50,
                         const char *color)
{
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='", color);
    for (size_t i = 0; i < r->nversions; i++) {
        const struct cli_sim_version *v = &r->versions[i];
        double y = ap50 ? v->ap50 : v->ap;
        if (y >= 0)
            fprintf(f, "%.1f,%.1f ", px(p, (double)(v->train_images + v->heldout_images)),
                    py(p, y));
    }
    fprintf(f, "'/>\n");
}

static void effort_series(FILE *f, const struct cli_sim_report *r, const struct panel *p,
                          int by_hand, const char *style)
{
    fprintf(f, "<polyline fill='none' %s points='%.1f,%.1f ", style, px(p, 0), py(p, 0));
    double cum = 0;
    for (size_t i = 0; i < r->nsteps; i++) {
        cum += by_hand ? r->steps[i].by_hand_s : r->steps[i].a.seconds;
        fprintf(f, "%.1f,%.1f ", px(p, (double)(i + 1)), py(p, cum / 60.0));
    }
    fprintf(f, "'/>\n");
}

static int write_svg(const struct cli_sim_report *r, const struct totals *t, const char *path,
                     struct base_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return base_err_set(err, BASE_E_IO, "cannot write %s", path);
    double labeled = (double)(r->nsteps > 0 ? r->nsteps : 1);
    struct panel a = {60, 40, 360, 260, labeled, 1.0};
    struct panel b = {540, 40, 360, 260, labeled, t->by_hand > 0 ? t->by_hand / 60.0 : 1};
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='940' height='350' "
               "font-family='sans-serif'>\n<rect width='940' height='350' fill='white'/>\n");
    axes(f, &a, "labeled images when trained", "held-out score", "Learning curve");
    curve_series(f, r, &a, 1, "#1f77b4");
    curve_series(f, r, &a, 0, "#ff7f0e");
    fprintf(f, "<text x='330' y='60' font-size='12' fill='#1f77b4'>AP50</text>\n"
               "<text x='330' y='76' font-size='12' fill='#ff7f0e'>AP</text>\n");
    axes(f, &b, "tasks labeled", "annotator minutes", "Effort: the loop vs by hand");
    effort_series(f, r, &b, 1, "stroke='#888' stroke-dasharray='5,4' stroke-width='2'");
    effort_series(f, r, &b, 0, "stroke='#2ca02c' stroke-width='2'");
    fprintf(f,
            "<text x='550' y='60' font-size='12' fill='#888'>by hand</text>\n"
            "<text x='550' y='76' font-size='12' fill='#2ca02c'>with the loop (%s)</text>\n",
            r->sampling);
    fprintf(f, "</svg>\n");
    return fclose(f) ? base_err_set(err, BASE_E_IO, "cannot write %s", path) : 0;
}

static double ap50_at(const struct cli_sim_report *r, size_t step)
{
    if (r->nsteps < step)
        return -1;
    const struct cli_sim_version *v = find_version(r, r->steps[step - 1].current);
    return v ? v->ap50 : 0;
}

int cli_sim_write(const struct cli_sim_report *r, const char *dir, struct base_err *err)
{
    struct totals t;
    add_up(r, &t);
    char *steps = base_path_join(dir, "steps.csv"), *versions = base_path_join(dir, "versions.csv"),
         *svg = base_path_join(dir, "curve.svg");
    int rc =
        write_steps(r, steps, err) || write_versions(r, versions, err) || write_svg(r, &t, svg, err)
            ? -1
            : 0;
    double cycle_max = 0;
    for (size_t i = 0; i < r->nversions; i++)
        if (r->versions[i].cycle_s > cycle_max)
            cycle_max = r->versions[i].cycle_s;
    if (rc == 0) {
        printf("%zu tasks: %.0f s with the loop, %.0f s by hand; boxes kept %ld, adjusted %ld,"
               " deleted %ld, drawn %ld; %zu model versions; report in %s\n",
               r->nsteps, t.spent, t.by_hand, t.kept, t.adjusted, t.deleted, t.drawn, r->nversions,
               dir);
        printf("simulate: saved_pct=%.1f saved_actions_pct=%.1f ceiling_pct=%.1f ap50_at_100=%.3f"
               " cycle_s_max=%.1f api_p99_ms=%.1f api_p50_ms=%.1f api_calls=%zu versions=%zu"
               " sampling=%s policy=%lld,%lld arch=%s\n",
               t.by_hand > 0 ? 100 * (1 - t.spent / t.by_hand) : 0,
               t.by_hand_actions ? 100 * (1 - (double)t.actions / (double)t.by_hand_actions) : 0,
               t.by_hand > 0 ? 100 * (1 - t.look / t.by_hand) : 0, ap50_at(r, 100), cycle_max,
               r->api_p99_ms, r->api_p50_ms, r->api_calls, r->nversions, r->sampling,
               (long long)r->min_labeled, (long long)r->retrain_every, r->arch);
    }
    base_free(steps);
    base_free(versions);
    base_free(svg);
    return rc;
}
