// A list linked through its members' own fields: joining and leaving allocate
// nothing and touch no hash table. The hub's subscribers, the held long-polls
// and the open streams are kept this way, since every poll joins and leaves
// each of them once, a thousand times a message under load. (Sets and a Map
// there made what the polls held survive young collections and be promoted.)

/** What a member carries; the list owns these fields. */
export interface Linked<T> {
  listPrev: T | null;
  listNext: T | null;
  /** When it joined, counted per list: a walk visits only those there when it began. */
  listOrder: number;
}

export interface LinkedList<T extends Linked<T>> {
  first: T | null;
  last: T | null;
  size: number;
  /** Members ever appended. */
  joined: number;
}

export function linkedList<T extends Linked<T>>(): LinkedList<T> {
  return { first: null, last: null, size: 0, joined: 0 };
}

export function append<T extends Linked<T>>(list: LinkedList<T>, member: T): void {
  member.listOrder = ++list.joined;
  member.listPrev = list.last;
  member.listNext = null;
  if (list.last) list.last.listNext = member;
  else list.first = member;
  list.last = member;
  list.size++;
}

function isIn<T extends Linked<T>>(list: LinkedList<T>, member: T): boolean {
  return member.listPrev !== null || list.first === member;
}

/**
 * Takes `member` out; harmless if it is not in. It keeps its `listNext`, so a
 * walk that stands on it (a member that left during its own visit, or was
 * taken out by another's) goes on to the ones after it.
 */
export function remove<T extends Linked<T>>(list: LinkedList<T>, member: T): void {
  if (!isIn(list, member)) return;
  if (member.listPrev) member.listPrev.listNext = member.listNext;
  else list.first = member.listNext;
  if (member.listNext) member.listNext.listPrev = member.listPrev;
  else list.last = member.listPrev;
  member.listPrev = null;
  list.size--;
}

/**
 * Calls `fn` for each member in the list now, in the order they joined. Those
 * that leave meanwhile are skipped; those that join are not visited.
 */
export function forEach<T extends Linked<T>>(list: LinkedList<T>, fn: (member: T) => void): void {
  const lastOrder = list.joined;
  let member = list.first;
  while (member && member.listOrder <= lastOrder) {
    const next = member.listNext;
    if (isIn(list, member)) fn(member);
    member = next;
  }
}
