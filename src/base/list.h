/* SPDX-License-Identifier: MIT */
/*
 * list.h - intrusive circular doubly linked lists (kernel style).
 *
 * Owns: nothing. Locking: the owner of the list head.
 */
#ifndef USWAP_BASE_LIST_H
#define USWAP_BASE_LIST_H

#include "compiler.h"

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name)                                                                       \
	{                                                                                          \
		&(name), &(name)                                                                   \
	}

static inline void INIT_LIST_HEAD(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline void __list_add(struct list_head *n, struct list_head *prev, struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct list_head *n, struct list_head *head)
{
	__list_add(n, head, head->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	__list_add(n, head->prev, head);
}

static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	INIT_LIST_HEAD(e);
}

static inline void list_move_tail(struct list_head *e, struct list_head *head)
{
	list_del_init(e);
	list_add_tail(e, head);
}

static inline void list_move(struct list_head *e, struct list_head *head)
{
	list_del_init(e);
	list_add(e, head);
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

#define list_entry(ptr, type, member)	     container_of(ptr, type, member)
#define list_first_entry(head, type, member) list_entry((head)->next, type, member)
#define list_first_entry_or_null(head, type, member)                                               \
	(list_empty(head) ? NULL : list_first_entry(head, type, member))

#define list_for_each(pos, head) for (pos = (head)->next; pos != (head); pos = pos->next)
#define list_for_each_safe(pos, n, head)                                                           \
	for (pos = (head)->next, n = pos->next; pos != (head); pos = n, n = pos->next)
/*
 * The entry iterators walk list_head pointers and only turn a node into its
 * entry once it is known not to be the head: the head is not an entry, and
 * touching a member through it is undefined behaviour.
 */
#define list_for_each_entry(pos, head, member)                                                     \
	for (struct list_head *__p = (head)->next;                                                 \
	     __p != (head) && ((pos) = list_entry(__p, __typeof__(*(pos)), member), 1);            \
	     __p = __p->next)

/* Safe against removal of pos; n is the next entry, or NULL at the end. */
#define list_for_each_entry_safe(pos, n, head, member)                                             \
	for (struct list_head *__p = (head)->next, *__n = __p->next;                               \
	     __p != (head) &&                                                                      \
	     ((pos) = list_entry(__p, __typeof__(*(pos)), member),                                 \
	     (n) = __n != (head) ? list_entry(__n, __typeof__(*(n)), member) : NULL, 1);           \
	     __p = __n, __n = __p->next)

#endif /* USWAP_BASE_LIST_H */
