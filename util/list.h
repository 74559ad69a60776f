/*
 * util/list.h — header-only: intrusive lists, their links being fields of
 * the element chosen by the caller (an element can be on several lists):
 * a doubly linked list (DLIST_*) and a FIFO queue with a tail (QUEUE_*).
 * Depends on nothing.
 */
#ifndef RAFTQ_LIST_H
#define RAFTQ_LIST_H

/* Puts element @x first in the list whose first element is @head. */
#define DLIST_PUSH(head, x, PREV, NEXT)     \
	do {                                \
		(x)->PREV = NULL;           \
		(x)->NEXT = (head);         \
		if ((head) != NULL)         \
			(head)->PREV = (x); \
		(head) = (x);               \
	} while (0)

/* Takes element @x out of the list whose first element is @head. */
#define DLIST_UNLINK(head, x, PREV, NEXT)            \
	do {                                         \
		if ((x)->PREV != NULL)               \
			(x)->PREV->NEXT = (x)->NEXT; \
		else                                 \
			(head) = (x)->NEXT;          \
		if ((x)->NEXT != NULL)               \
			(x)->NEXT->PREV = (x)->PREV; \
		(x)->PREV = (x)->NEXT = NULL;        \
	} while (0)

/* Appends @x to the FIFO queue @head .. @tail. */
#define QUEUE_PUSH(head, tail, x, NEXT)     \
	do {                                \
		(x)->NEXT = NULL;           \
		if ((tail) != NULL)         \
			(tail)->NEXT = (x); \
		else                        \
			(head) = (x);       \
		(tail) = (x);               \
	} while (0)

#endif
