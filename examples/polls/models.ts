// The polls app's data: Django's tutorial models, in memory.
import { EventEmitter } from 'node:events';

export interface Choice { id: number; text: string; votes: number }
export interface Poll { id: number; question: string; choices: Choice[] }

export function createPolls() {
  const polls = new Map<number, Poll>([
    [1, { id: 1, question: "What's new?", choices: [
      { id: 1, text: 'Not much', votes: 0 },
      { id: 2, text: 'The sky', votes: 0 },
    ] }],
  ]);
  /** Emits `vote:<poll id>` after every vote, so streams can wait for one. */
  const events = new EventEmitter();
  events.setMaxListeners(0); // one listener per open stream

  return {
    events,
    all: () => [...polls.values()],
    get: (id: number) => polls.get(id),
    vote(poll: Poll, choice: Choice): void {
      choice.votes += 1;
      events.emit(`vote:${poll.id}`, poll);
    },
  };
}

export type Polls = ReturnType<typeof createPolls>;
