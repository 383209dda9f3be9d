/* "Nothing in a step allocates": this binary interposes malloc and friends for the whole process
 * (oneDNN and libgomp included) and counts calls made during training steps (forward, loss,
 * backward, clipping, optimizer, EMA) and inference forwards after warm-up. oneDNN 2.6's C entry
 * dnnl_primitive_execute builds a small argument map on the heap at every call (a few dozen
 * bytes from the allocator's thread cache, freed at once); anything larger, or any allocation
 * outside it, fails. Sanitizer builds own malloc themselves, so there the test only runs the
 * steps. */
#include "nn_test_util.h"

#include <stdatomic.h>

#if defined(__SANITIZE_ADDRESS__)
#define NN_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NN_COUNT_MALLOC 0
#endif
#endif
#ifndef NN_COUNT_MALLOC
#define NN_COUNT_MALLOC 1
#endif

static atomic_int counting;
static atomic_long allocations, large;

#define SMALL_LIMIT 1024

#if NN_COUNT_MALLOC
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);

static void note(size_t n)
{
    if (atomic_load(&counting)) {
        atomic_fetch_add(&allocations, 1);
        if (n > SMALL_LIMIT)
            atomic_fetch_add(&large, 1);
    }
}

void *malloc(size_t n)
{
    note(n);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    note(n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    note(n);
    return __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    note(n);
    *out = __libc_memalign(align, n);
    return *out ? 0 : 12;
}

void *aligned_alloc(size_t align, size_t n)
{
    note(n);
    return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
    note(n);
    return __libc_memalign(align, n);
}
#endif

static void train_step(struct nn_graph *g, struct nn_optim *o, struct nn_ema *e)
{
    nn_graph_forward(g, NULL);
    for (int k = 0; k < g->n_outputs; k++) {
        struct nn_shape s;
        const float *y = nn_graph_output(g, k, &s);
        nn_loss_bce_logits(y, y, NULL, nn_shape_numel(s), 0.01f, nn_graph_output_grad(g, k));
    }
    nn_graph_backward(g, NULL);
    nn_clip_grad_norm(g->m, 5.0);
    nn_optim_step(o, 0.01f);
    nn_ema_update(e, g->m);
}

static void test_steps_do_not_allocate(void)
{
    struct nn_model *m = nn_model_new(8);
    struct nn_graph *g = nn_graph_new(m), *gi;
    build_mini_fcos(g, 2, 32, 32, NN_ACT_RELU);
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_DEFAULT, NULL) == 0);
    gi = nn_graph_new(m);
    build_mini_fcos(gi, 1, 32, 32, NN_ACT_RELU);
    CHECK(nn_graph_compile(gi, NN_INFER, NN_BACKEND_DEFAULT, NULL) == 0);
    struct nn_optim *o = nn_optim_new(
        m, &(struct nn_optim_cfg){.kind = NN_OPTIM_ADAMW, .weight_decay = 0.05f}, NULL);
    struct nn_ema *e = nn_ema_new(m, 0.999f, 100.0f);
    fill_inputs(g, 1);
    fill_inputs(gi, 2);
    for (int warm = 0; warm < 2; warm++) {
        train_step(g, o, e);
        nn_graph_forward(gi, NULL);
    }
    atomic_store(&counting, 1);
    for (int step = 0; step < 3; step++) {
        train_step(g, o, e);
        nn_graph_forward(gi, NULL);
    }
    atomic_store(&counting, 0);
    if (!NN_COUNT_MALLOC)
        fprintf(stderr, "sanitizer build: allocations not counted\n");
    fprintf(stderr, "allocations in 3 steps: %ld small (oneDNN argument maps), %ld large\n",
            atomic_load(&allocations), atomic_load(&large));
    CHECK_EQ_INT(atomic_load(&large), 0);
    /* at most a handful per oneDNN call: the steps above make a few hundred calls */
    CHECK(atomic_load(&allocations) < 3 * 8 * (long)(g->n + gi->n) * 4);
    nn_ema_free(e);
    nn_optim_free(o);
    nn_graph_free(gi);
    nn_graph_free(g);
    nn_model_free(m);
}

TEST_MAIN(TEST_CASE(test_steps_do_not_allocate))
