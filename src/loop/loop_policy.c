/* The loop's rules, as pure functions so that each is tested on its own: which tasks are held
 * out, how long a cycle trains, when the policy queues a job, and when a new model replaces the
 * current one. The reasons behind the numbers are in README.md. */
#include "loop.h"

#include <math.h>
#include <stdio.h>

int loop_heldout(int64_t task)
{
    /* splitmix64's finaliser: consecutive ids land far apart, and the part never changes */
    uint64_t z = (uint64_t)task + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (int)(z % 100) < LOOP_HELDOUT_PCT;
}

/* Image-iterations one cycle aims at, and the bounds on epochs: a small set is seen many times
 * (a few hundred steps are what a detector needs to move at all), a large one a few times per
 * cycle; warm starts need fewer. The time cap keeps every cycle within the loop's budget. */
#define COLD_ITERS      1600
#define WARM_ITERS      4000
#define COLD_MIN_EPOCHS 12
#define WARM_MIN_EPOCHS 4
#define MAX_EPOCHS      150
#define CYCLE_MAX_S     150.0

void loop_schedule_for(int ntrain, int warm, struct loop_schedule *out)
{
    int n = ntrain > 0 ? ntrain : 1;
    int iters = warm ? WARM_ITERS : COLD_ITERS;
    int lo = warm ? WARM_MIN_EPOCHS : COLD_MIN_EPOCHS;
    int e = (iters + n - 1) / n;
    out->epochs = e < lo ? lo : e > MAX_EPOCHS ? MAX_EPOCHS : e;
    out->max_s = CYCLE_MAX_S;
}

const char *loop_policy(const struct loop_settings *s, const struct store_loop_state *st)
{
    if (!s->enabled || st->queued_train > 0)
        return NULL; /* a queued job will see these annotations too */
    if (st->train_jobs == 0)
        return st->labeled >= (s->min_labeled > 0 ? s->min_labeled : 1) ? "first" : NULL;
    if (s->retrain_every > 0 && st->changes >= s->retrain_every)
        return "retrain";
    return NULL;
}

int loop_promote(const struct loop_eval *fresh, const struct loop_eval *current, char *reason,
                 size_t size)
{
    if (!current) {
        snprintf(reason, size, "first model of the project");
        return 1;
    }
    if (fresh->nimages < LOOP_MIN_HELDOUT) {
        snprintf(reason, size,
                 "only %d held-out images (fewer than %d): the newer model, trained on more"
                 " labels, is promoted without a comparison",
                 fresh->nimages, LOOP_MIN_HELDOUT);
        return 1;
    }
    /* AP decides; AP50 breaks an exact tie; a full tie goes to the newer model */
    int better = fresh->ap > current->ap + 1e-9 ||
                 (fabs(fresh->ap - current->ap) <= 1e-9 && fresh->ap50 >= current->ap50 - 1e-9);
    snprintf(reason, size, "held-out AP %.3f %s current %.3f (AP50 %.3f vs %.3f, %d images)",
             fresh->ap, better ? (fresh->ap > current->ap + 1e-9 ? ">" : "=") : "<", current->ap,
             fresh->ap50, current->ap50, fresh->nimages);
    return better;
}
