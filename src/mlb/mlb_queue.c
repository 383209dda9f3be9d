/* The first-in first-out list under both background threads of src/mlb (the server's webhook
 * work and the client's calls): items begin with a struct mlb_node; callers hold their lock. */
#include "mlb_int.h"

void mlb_queue_push(struct mlb_queue *q, void *item)
{
    struct mlb_node *n = item;
    n->next = NULL;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->n++;
}

void *mlb_queue_pop(struct mlb_queue *q)
{
    struct mlb_node *n = q->head;
    if (!n)
        return NULL;
    q->head = n->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    return n;
}
