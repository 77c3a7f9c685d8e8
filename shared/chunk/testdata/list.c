#include <stdlib.h>

/* A node of a singly linked list. */
struct node {
    int value;
    struct node *next;
};

typedef struct node node_t;

static int count;

/* push prepends value to the list at head. */
node_t *push(node_t *head, int value) {
    node_t *n = malloc(sizeof *n);
    n->value = value;
    n->next = head;
    count++;
    return n;
}
